-- reap: return the reservations whose expiry has passed (a crashed or killed worker's): their
-- reserved money and their leases. Each stays as a tombstone (state 'x') for a day, so a settle that
-- still arrives records its spend without releasing twice.
-- KEYS: reservation index, stats. ARGV: reservation key prefix, batch size.
-- Answers {reservations reaped, leases returned, more due}.
local _, now = clock()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local reaped, leases = 0, 0
for _, id in ipairs(due) do
  local key = ARGV[1] .. id
  local flat = redis.call('HGETALL', key)
  if #flat > 0 then
    local rec = as_map(flat)
    if rec.st == 'h' then
      give_back(rec, id)
      redis.call('HSET', key, 'st', 'x')
      redis.call('PEXPIREAT', key, math.ceil((now + KEEP_US) / 1000))
      reaped = reaped + 1
      leases = leases + tonumber(rec.nl)
    end
  end
  redis.call('ZREM', KEYS[1], id)
end
if reaped > 0 then redis.call('HINCRBY', KEYS[2], 'reaped', reaped) end
local more = 0
if #due == tonumber(ARGV[2]) then more = 1 end
return {reaped, leases, more}
