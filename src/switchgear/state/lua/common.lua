-- Shared by every script (prepended to each). Times are integer microseconds since the epoch from
-- the server's own clock; money is integer micro-USD. Lua numbers are doubles: exact to 2^53.
local KEEP_US = 86400 * 1000000  -- counters outlive their period, tombstones their expiry, by a day

local function clock()
  local t = redis.call('TIME')
  local now_s = tonumber(t[1])
  return now_s, now_s * 1000000 + tonumber(t[2])
end

local function civil_month(days)  -- H. Hinnant's civil_from_days: the year and month of a day
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400
  if month <= 2 then year = year + 1 end
  return year, month
end

local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = m > 2 and m - 3 or m + 9
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- The period holding now_s: its id and its end in seconds (-1: none). code is '' (one period
-- forever), 'm' (calendar month, UTC) or a length in seconds counted from the epoch.
local function period_at(code, now_s)
  if code == '' then return 'all', -1 end
  if code == 'm' then
    local y, m = civil_month(math.floor(now_s / 86400))
    local ny, nm = y, m + 1
    if nm == 13 then ny, nm = y + 1, 1 end
    return string.format('%04d%02d', y, m), days_from_civil(ny, nm, 1) * 86400
  end
  local len = tonumber(code)
  local index = math.floor(now_s / len)
  return string.format('%d', index), (index + 1) * len
end

-- Let key live at least until keep_us (never shorten an expiry already further out).
local function keep_until(key, now_us, keep_us)
  local ttl = redis.call('PTTL', key)
  local target_ms = math.ceil(keep_us / 1000)
  if ttl == -1 or (ttl >= 0 and math.floor(now_us / 1000) + ttl < target_ms) then
    redis.call('PEXPIREAT', key, target_ms)
  end
end

local function as_map(flat)
  local map = {}
  for i = 1, #flat, 2 do map[flat[i]] = flat[i + 1] end
  return map
end

-- Undo a held reservation: its reserved money in every budget and its leases. Rate-limit entries
-- stay: the request happened.
-- The negative of an amount as Redis takes it: never "-0" (Lua's -0 is not an integer to Redis,
-- so HINCRBY by it fails).
local function negated(amount)
  if amount == 0 then return 0 end
  return -amount
end

local function give_back(rec, id)
  local cost = tonumber(rec.c)
  if cost ~= 0 then
    for i = 1, tonumber(rec.nb) do redis.call('HINCRBY', rec['b' .. i], 'r', negated(cost)) end
  end
  for i = 1, tonumber(rec.nl) do redis.call('ZREM', rec['l' .. i], id) end
end
