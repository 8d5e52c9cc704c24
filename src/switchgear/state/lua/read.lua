-- read: counters for reports and headers, on the server's clock. ARGV[1] names what:
-- 'budget' (KEYS[1] budget base key, ARGV[2] period code, ARGV[3] a time in seconds or '' for
-- now) answers {period id, end_s | -1, spent, reserved} of the period holding that time;
-- 'rate' (KEYS[1] log key, ARGV[2] unit, ARGV[3] limit, ARGV[4] window_us) answers
-- {used, remaining, reset_us}; 'leases' (KEYS[1] lease key) answers {live leases}.
local now_s, now = clock()
if ARGV[1] == 'budget' then
  local pid, pend = period_at(ARGV[2], tonumber(ARGV[3]) or now_s)
  local held = redis.call('HMGET', KEYS[1] .. ':' .. pid, 's', 'r')
  return {pid, pend, tonumber(held[1]) or 0, tonumber(held[2]) or 0}
elseif ARGV[1] == 'rate' then
  local key, unit, limit, w = KEYS[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  local used
  if unit == 'r' then
    used = redis.call('ZCOUNT', key, '(' .. string.format('%d', now - w), '+inf')
  else
    used = 0
    local live = redis.call('ZRANGEBYSCORE', key, '(' .. string.format('%d', now - w), '+inf')
    if #live > 0 then
      for _, v in ipairs(redis.call('HMGET', key .. ':a', unpack(live))) do used = used + (tonumber(v) or 0) end
    end
  end
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  local reset = 0
  if #newest > 0 then reset = math.max(0, tonumber(newest[2]) + w - now) end
  return {used, math.max(0, limit - used), reset}
elseif ARGV[1] == 'leases' then
  return {redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%d', now), '+inf')}
end
return redis.error_reply('ERR unknown read ' .. tostring(ARGV[1]))
