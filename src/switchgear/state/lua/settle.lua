-- settle: once per reservation, reserved -= estimate and spent += actual in the reservation's own
-- periods; the token entries take the actual count. After the reaper (state 'x') only the spend is
-- recorded. KEYS: reservation record, reservation index. ARGV: id, actual cost, actual tokens.
-- Answers {outcome, (budget key, period id, soft, spent) per soft budget crossed now}.
local id, cost, tokens = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then return {'unknown'} end
local rec = as_map(flat)
local _, now = clock()
local out = {'settled'}
if rec.st == 'x' then
  out[1] = 'late'
else
  give_back(rec, id)
  redis.call('ZREM', KEYS[2], id)
end
for i = 1, tonumber(rec.nb) do
  local key = rec['b' .. i]
  local spent = redis.call('HINCRBY', key, 's', cost)
  local keep = tonumber(rec['e' .. i])
  if keep >= 0 then keep_until(key, now, keep) end
  local soft = rec['f' .. i]
  if soft ~= '' and spent >= tonumber(soft) and redis.call('HSETNX', key, 'soft', 1) == 1 then
    for _, v in ipairs({key, rec['p' .. i], soft, spent}) do out[#out + 1] = v end
  end
end
for i = 1, tonumber(rec.nt) do
  local amounts = rec['t' .. i]
  local before = tonumber(redis.call('HGET', amounts, id))
  if before then
    redis.call('HSET', amounts, id, tokens)
    redis.call('HINCRBY', amounts, ' sum', tokens - before)
  end
end
redis.call('DEL', KEYS[1])
return out
