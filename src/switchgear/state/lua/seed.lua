-- seed: raise a budget counter's spent to at least a value (the durable ledger's, read at start-up),
-- never lower it: counters that outlived the restart (Redis kept them) stay as they are.
-- KEYS[1] the budget counter's key (with its period id). ARGV: spent, period end in seconds or -1,
-- soft budget or ''. Answers the counter's spent afterwards.
local value = tonumber(ARGV[1])
local _, now = clock()
local spent = tonumber(redis.call('HGET', KEYS[1], 's')) or 0
if value > spent then
  redis.call('HSET', KEYS[1], 's', value)
  spent = value
end
if redis.call('HEXISTS', KEYS[1], 'r') == 0 then redis.call('HSET', KEYS[1], 'r', 0) end
local soft = ARGV[3]
if soft ~= '' and spent >= tonumber(soft) then redis.call('HSETNX', KEYS[1], 'soft', 1) end
local end_s = tonumber(ARGV[2])
if end_s >= 0 then keep_until(KEYS[1], now, end_s * 1000000 + KEEP_US) end
return spent
