-- admit: check every budget, rate limit and concurrency limit; reserve in all of them, or in none.
-- KEYS: reservation record, reservation index, stats, then one base key per budget, rate limit and
-- concurrency limit. ARGV: id, cost, tokens, ttl_us, owner, #budgets, #rates, #concurrency, then
-- (max, soft or '', period code) per budget, (unit 'r'|'t', limit, window_us) per rate limit,
-- limit per concurrency limit.
-- Answers {1, at_us, expires_us, statuses...} or {0, kind, index, used, requested, retry_us | -1,
-- resets_s | -1, statuses...}; a status is (used, remaining, reset_us) per rate limit, in order.
local id, cost, tokens, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nb, nr, nc = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('ERR reservation id in use') end
local now_s, now = clock()
local expires = now + ttl

local function log_total(key, unit)
  if unit == 'r' then return redis.call('ZCARD', key) end
  return tonumber(redis.call('HGET', key .. ':a', ' sum')) or 0
end

-- Forget the entries the window ending now no longer holds: those admitted at or before now - w.
local function trim(key, unit, horizon)
  if unit == 't' then
    while true do
      local old = redis.call('ZRANGEBYSCORE', key, '-inf', horizon, 'LIMIT', 0, 500)
      if #old == 0 then break end
      local amounts = redis.call('HMGET', key .. ':a', unpack(old))
      local sum = 0
      for i = 1, #amounts do sum = sum + (tonumber(amounts[i]) or 0) end
      redis.call('HDEL', key .. ':a', unpack(old))
      redis.call('HINCRBY', key .. ':a', ' sum', negated(sum))
      redis.call('ZREM', key, unpack(old))
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', horizon)
  end
end

-- How long until need more fits under limit (-1: never).
local function wait_us(key, unit, total, limit, need, w)
  if need > limit then return -1 end
  local excess = total + need - limit
  if excess <= 0 then return 0 end
  if unit == 'r' then
    local entry = redis.call('ZRANGE', key, excess - 1, excess - 1, 'WITHSCORES')
    return math.max(0, tonumber(entry[2]) + w - now)
  end
  local start = 0
  while true do
    local batch = redis.call('ZRANGE', key, start, start + 199, 'WITHSCORES')
    if #batch == 0 then return -1 end
    local ids = {}
    for i = 1, #batch, 2 do ids[#ids + 1] = batch[i] end
    local amounts = redis.call('HMGET', key .. ':a', unpack(ids))
    for i = 1, #ids do
      excess = excess - (tonumber(amounts[i]) or 0)
      if excess <= 0 then return math.max(0, tonumber(batch[2 * i]) + w - now) end
    end
    start = start + 200
  end
end

local rates = {}
do
  local a, k = 9 + 3 * nb, 4 + nb
  for i = 1, nr do
    rates[i] = {key = KEYS[k], unit = ARGV[a], limit = tonumber(ARGV[a + 1]), w = tonumber(ARGV[a + 2])}
    a, k = a + 3, k + 1
  end
end

local function statuses(out)
  for i = 1, nr do
    local r = rates[i]
    local total = log_total(r.key, r.unit)
    local newest = redis.call('ZRANGE', r.key, -1, -1, 'WITHSCORES')
    local reset = 0
    if #newest > 0 then reset = math.max(0, tonumber(newest[2]) + r.w - now) end
    out[#out + 1] = total
    out[#out + 1] = math.max(0, r.limit - total)
    out[#out + 1] = reset
  end
  return out
end

-- Check: budgets, then rate limits, then concurrency; the first that fails refuses.
local budgets = {}
do
  local a, k = 9, 4
  for i = 1, nb do
    local max, soft, code = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]
    local pid, pend = period_at(code, now_s)
    local key = KEYS[k] .. ':' .. pid
    local held = redis.call('HMGET', key, 's', 'r')
    local used = (tonumber(held[1]) or 0) + (tonumber(held[2]) or 0)
    if used + cost > max then return statuses({0, 'budget', i, used, cost, -1, pend}) end
    budgets[i] = {key = key, pid = pid, pend = pend, soft = soft}
    a, k = a + 3, k + 1
  end
end

for i = 1, nr do
  local r = rates[i]
  trim(r.key, r.unit, now - r.w)
  local total = log_total(r.key, r.unit)
  local need = 1
  if r.unit == 't' then need = tokens end
  if total + need > r.limit then
    local kind = r.unit == 'r' and 'requests' or 'tokens'
    return statuses({0, kind, i, total, need, wait_us(r.key, r.unit, total, r.limit, need, r.w), -1})
  end
end

local leases = {}
do
  local a, k = 9 + 3 * nb + 3 * nr, 4 + nb + nr
  for i = 1, nc do
    local key, limit = KEYS[k], tonumber(ARGV[a])
    local expired = redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if expired > 0 then redis.call('HINCRBY', KEYS[3], 'expired_leases', expired) end
    local live = redis.call('ZCARD', key)
    if live + 1 > limit then return statuses({0, 'concurrency', i, live, 1, 1000000, -1}) end
    leases[i] = key
    a, k = a + 1, k + 1
  end
end

-- Reserve: every check passed.
local rec = {'st', 'h', 'c', cost, 'x', expires, 'o', ARGV[5], 'nb', nb, 'nt', 0, 'nl', nc}
for i = 1, nb do
  local b = budgets[i]
  redis.call('HINCRBY', b.key, 'r', cost)
  local keep = -1
  if b.pend >= 0 then
    keep = math.max(b.pend * 1000000, expires) + KEEP_US
    keep_until(b.key, now, keep)
  end
  for _, v in ipairs({'b' .. i, b.key, 'p' .. i, b.pid, 'f' .. i, b.soft, 'e' .. i, keep}) do
    rec[#rec + 1] = v
  end
end
local nt = 0
for i = 1, nr do
  local r = rates[i]
  local ttl_ms = math.ceil(r.w / 1000) + 1000
  redis.call('ZADD', r.key, now, id)
  redis.call('PEXPIRE', r.key, ttl_ms)
  if r.unit == 't' then
    redis.call('HSET', r.key .. ':a', id, tokens)
    redis.call('HINCRBY', r.key .. ':a', ' sum', tokens)
    redis.call('PEXPIRE', r.key .. ':a', ttl_ms)
    nt = nt + 1
    rec[#rec + 1] = 't' .. nt
    rec[#rec + 1] = r.key .. ':a'
  end
end
rec[12] = nt
for i = 1, nc do
  redis.call('ZADD', leases[i], expires, id)
  keep_until(leases[i], now, expires + 1000000)
  rec[#rec + 1] = 'l' .. i
  rec[#rec + 1] = leases[i]
end
redis.call('HSET', KEYS[1], unpack(rec))
redis.call('PEXPIREAT', KEYS[1], math.ceil((expires + KEEP_US) / 1000))
redis.call('ZADD', KEYS[2], expires, id)
return statuses({1, now, expires})
