"""The Lua scripts of the Redis store: each runs atomically on Redis, on Redis's own clock.

Kept apart from `store_redis` so the Python side reads as the verbs it offers; the member format
(`<reservation id>:<tokens>`) and the day keys (`<base>:<day number>`) are shared with
`store_settle`, which writes degraded grants back the same way.
"""

# KEYS: per owner (minute zset, day counter base, cool key). ARGV: id, tokens, window_ms, n, then per owner
# rpm, rpd, tpm, day_offset_ms (-1 = unlimited). Returns {ok, owner index, kind, until_ms, now_ms}.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, tokens, win, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local worst, wi, wkind = -1, 0, ''
local days = {}
for i = 1, n do
  local z, d, c = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local b = 4 + 4*(i-1)
  local rpm, rpd, tpm, off = tonumber(ARGV[b+1]), tonumber(ARGV[b+2]), tonumber(ARGV[b+3]), tonumber(ARGV[b+4])
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now - win)
  local cool = redis.call('PTTL', c)
  if cool > 0 and now + cool > worst then worst, wi, wkind = now + cool, i, 'cool' end
  local count = redis.call('ZCARD', z)
  if rpm >= 0 and count >= rpm then
    local e = redis.call('ZRANGE', z, count - rpm, count - rpm, 'WITHSCORES')
    local u = (e[2] and tonumber(e[2]) or now) + win
    if u > worst then worst, wi, wkind = u, i, 'rpm' end
  end
  local day = math.floor((now - off) / 86400000)
  days[i] = day
  if rpd >= 0 then
    local used = tonumber(redis.call('GET', d .. ':' .. day) or '0')
    if used >= rpd then
      local u = (day + 1) * 86400000 + off
      if u > worst then worst, wi, wkind = u, i, 'rpd' end
    end
  end
  if tpm >= 0 and count > 0 then
    local ms = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
    local total = tokens
    for j = 1, #ms, 2 do total = total + tonumber(string.match(ms[j], ':(%d+)$')) end
    if total > tpm then
      local u = tonumber(ms[#ms])
      for j = 1, #ms, 2 do
        total = total - tonumber(string.match(ms[j], ':(%d+)$'))
        if total <= tpm then u = tonumber(ms[j+1]); break end
      end
      if u + win > worst then worst, wi, wkind = u + win, i, 'tpm' end
    end
  end
end
if wi > 0 then return {0, wi, wkind, tostring(worst), tostring(now)} end
for i = 1, n do
  local z, d = KEYS[3*i-2], KEYS[3*i-1]
  redis.call('ZADD', z, now, id .. ':' .. tokens)
  redis.call('PEXPIRE', z, win + 1000)
  local dk = d .. ':' .. days[i]
  redis.call('INCR', dk)
  redis.call('PEXPIRE', dk, 2 * 86400000)
end
return {1, 0, '', '0', tostring(now)}
"""

# KEYS: per owner (minute zset, day counter base). ARGV: member, new member ('' = release), n.
ADJUST = """
local n = tonumber(ARGV[3])
for i = 1, n do
  local z, d = KEYS[2*i-1], KEYS[2*i]
  local score = redis.call('ZSCORE', z, ARGV[1])
  if score then
    redis.call('ZREM', z, ARGV[1])
    if ARGV[2] ~= '' then
      redis.call('ZADD', z, score, ARGV[2])
    else
      local dk = d .. ':' .. math.floor((tonumber(score) - tonumber(ARGV[4 + i - 1] or '0')) / 86400000)
      if tonumber(redis.call('GET', dk) or '0') > 0 then redis.call('DECR', dk) end
    end
  end
end
return 1
"""

RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
