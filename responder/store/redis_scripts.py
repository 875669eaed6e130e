"""The Lua scripts of the Redis store: each check-and-set of the contract, run inside Redis.

Keys and arguments are documented beside each script; the key layout is in
:mod:`responder.store.redis_store`. A script runs atomically, so nothing is read into
Python and written back.
"""

# Folds one inbound time (text, Unix seconds) into a lead hash: the earliest as first_seen,
# the latest as last_inbound. Prefixed to the scripts that note a message's time.
_FOLD_INBOUND = """
local function fold_inbound(lead, text)
  local at = tonumber(text)
  local first = redis.call('HGET', lead, 'first_seen')
  if not first or at < tonumber(first) then
    redis.call('HSET', lead, 'first_seen', text)
  end
  local last = redis.call('HGET', lead, 'last_inbound')
  if not last or at > tonumber(last) then
    redis.call('HSET', lead, 'last_inbound', text)
  end
end
"""

# Pauses a lead hash until the time given (text, Unix seconds), never shortening its pause.
# Prefixed to the scripts that pause a lead.
PAUSE_LEAD = """
local function pause_lead(lead, text)
  local current = redis.call('HGET', lead, 'paused_until')
  if not current or tonumber(text) > tonumber(current) then
    redis.call('HSET', lead, 'paused_until', text)
  end
end
"""

# KEYS: claim, jobs stream, job hash, leases, lead hash. ARGV: job key, payload, owner, lease
# end, claim TTL, group, attempts, sending JSON ('' for none), the message's time to fold
# into the lead ('' for none). 1 if accepted, 0 (changing nothing) for a duplicate.
ACCEPT = (
    _FOLD_INBOUND
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[5]) then
  return 0
end
if ARGV[9] ~= '' then
  fold_inbound(KEYS[5], ARGV[9])
end
redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[6], '0', 'MKSTREAM')
local old = redis.call('HGET', KEYS[3], 'entry')
if old then
  redis.pcall('XACK', KEYS[2], ARGV[6], old)
  redis.call('XDEL', KEYS[2], old)
end
local id = redis.call('XADD', KEYS[2], '*', 'key', ARGV[1])
redis.call('XCLAIM', KEYS[2], ARGV[6], ARGV[3], 0, id, 'FORCE', 'JUSTID')
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[3], 'entry', id, 'payload', ARGV[2], 'attempts', ARGV[7],
           'sending', ARGV[8])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return 1
"""
)

RECLAIM = """
local keys = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[4])
local out = {}
for _, key in ipairs(keys) do
  local job = ARGV[6] .. key
  local id = redis.call('HGET', job, 'entry')
  if id then
    redis.call('XCLAIM', KEYS[1], ARGV[5], ARGV[3], 0, id, 'FORCE', 'JUSTID')
    local attempts = redis.call('HINCRBY', job, 'attempts', 1)
    redis.call('ZADD', KEYS[2], ARGV[2], key)
    local fields = redis.call('HMGET', job, 'payload', 'sending')
    out[#out + 1] = fields[1]
    out[#out + 1] = tostring(attempts)
    out[#out + 1] = fields[2] or ''
  else
    redis.call('ZREM', KEYS[2], key)
  end
end
return out
"""

RENEW = """
local id = redis.call('HGET', KEYS[3], 'entry')
if not id or redis.call('HGET', KEYS[3], 'attempts') ~= ARGV[5] then
  return 0
end
local held = redis.pcall('XPENDING', KEYS[1], ARGV[4], id, id, 1, ARGV[2])
if held['err'] or #held == 0 then
  return 0
end
redis.call('XCLAIM', KEYS[1], ARGV[4], ARGV[2], 0, id, 'JUSTID')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
"""

# KEYS: record, log, job hash, jobs stream, leases, unanswered stream, lead hash. ARGV:
# record JSON, record TTL, log cap, job key, group, at, unmatched ('1' or '0'), unanswered
# cap, lead id, text, normalised text, pause the lead until ('' for none; applied even when
# the key had an outcome already). 1 if recorded, 0 if the key had an outcome already.
FINISH = (
    PAUSE_LEAD
    + """
if ARGV[12] ~= '' then
  pause_lead(KEYS[7], ARGV[12])
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'at', ARGV[6], 'key', ARGV[4],
           'd', ARGV[1])
if ARGV[7] == '1' then
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'at', ARGV[6], 'lead', ARGV[9],
             'text', ARGV[10], 'n', ARGV[11])
end
local id = redis.call('HGET', KEYS[3], 'entry')
if id then
  redis.pcall('XACK', KEYS[4], ARGV[5], id)
  redis.call('XDEL', KEYS[4], id)
  redis.call('DEL', KEYS[3])
end
redis.call('ZREM', KEYS[5], ARGV[4])
return 1
"""
)

# KEYS: lead hash, pauses hash. ARGV: the message's time, lead id. Returns the lead hash
# (flat) and the JSON of the people's pauses of the lead and of everyone (nil when none).
NOTE_INBOUND = (
    _FOLD_INBOUND
    + """
fold_inbound(KEYS[1], ARGV[1])
return {redis.call('HGETALL', KEYS[1]), redis.call('HMGET', KEYS[2], 'p:' .. ARGV[2], 'p:*')}
"""
)

# The pauses hash keeps, per lead id (``*``: everyone), "p:<id>" (the pause as JSON) and
# "u:<id>" (until when, as Unix seconds; empty: until resumed).
# KEYS: pauses hash, pause changes stream. ARGV: lead id, pause JSON, until ('' for none),
# changes cap, now, who. Sets the pause and records the change.
PUT_PAUSE = """
redis.call('HSET', KEYS[1], 'p:' .. ARGV[1], ARGV[2], 'u:' .. ARGV[1], ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'at', ARGV[5], 'lead', ARGV[1],
           'action', 'pause', 'by', ARGV[6], 'd', ARGV[2])
return 0
"""

# KEYS: pauses hash, lead hash, pause changes stream. ARGV: lead id, changes cap, now, who.
# Returns the JSON of the pause ended, or nil.
END_PAUSE = """
local pause = redis.call('HGET', KEYS[1], 'p:' .. ARGV[1])
redis.call('HDEL', KEYS[1], 'p:' .. ARGV[1], 'u:' .. ARGV[1])
if ARGV[1] ~= '*' then
  redis.call('HDEL', KEYS[2], 'paused_until')
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'at', ARGV[3], 'lead', ARGV[1],
           'action', 'resume', 'by', ARGV[4])
return pause
"""

# KEYS: pauses hash. ARGV: now. Removes the pauses that ended by then; returns how many.
PRUNE_PAUSES = """
local fields = redis.call('HGETALL', KEYS[1])
local removed = 0
for i = 1, #fields, 2 do
  local name, value = fields[i], fields[i + 1]
  if string.sub(name, 1, 2) == 'u:' and value ~= '' and tonumber(value) <= tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], name, 'p:' .. string.sub(name, 3))
    removed = removed + 1
  end
end
return removed
"""

PAUSE = (
    PAUSE_LEAD
    + """
pause_lead(KEYS[1], ARGV[1])
return 0
"""
)

# KEYS: claim, lead hash. ARGV: pause until, claim TTL in seconds, now. 1 if it paused, else 0
# (claimed already while the lead is still paused).
PAUSE_ONCE = (
    PAUSE_LEAD
    + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
  local paused = redis.call('HGET', KEYS[2], 'paused_until')
  if paused and tonumber(paused) > tonumber(ARGV[3]) then
    return 0
  end
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
pause_lead(KEYS[2], ARGV[1])
return 1
"""
)

RESERVE = """
if redis.call('HGET', KEYS[1], 'k:' .. string.sub(ARGV[2], 3)) == ARGV[9] then
  return false  -- this job's reservation already: a retried script whose answer was lost
end
local paused = redis.call('HGET', KEYS[1], 'paused_until')
if paused and tonumber(ARGV[1]) < tonumber(paused) then
  return 'paused'
end
for _, held in ipairs(redis.call('HMGET', KEYS[4], 'u:' .. ARGV[11], 'u:*')) do
  if held and (held == '' or tonumber(ARGV[1]) < tonumber(held)) then
    return 'paused'
  end
end
local last = redis.call('HGET', KEYS[1], ARGV[2])
if last and tonumber(ARGV[10]) > 0 and tonumber(last) > tonumber(ARGV[3]) then
  return 'cooldown'
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  return 'budget'
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1], 'k:' .. string.sub(ARGV[2], 3), ARGV[9])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[3], 'sending', ARGV[8])
end
return false
"""

# The lead hash keeps, beside "r:<rule>" (time of the last reply), "k:<rule>": the job that
# reserved it; budget members are "<job key>|<rule>".
RELEASE = """
if redis.call('HGET', KEYS[1], 'k:' .. ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1], 'k:' .. ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[2] .. '|' .. ARGV[1])
return 0
"""

# Removes up to ARGV[2] of the oldest log entries recorded before ARGV[1], with their
# records. Returns {removed, done}; done = 1 once an entry recent enough (or the end) is met.
PRUNE_DECISIONS = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
local removed = 0
for _, entry in ipairs(entries) do
  local f = {}
  for i = 1, #entry[2], 2 do
    f[entry[2][i]] = entry[2][i + 1]
  end
  if tonumber(f['at']) >= tonumber(ARGV[1]) then
    return {removed, 1}
  end
  local record = ARGV[3] .. f['key']
  if redis.call('GET', record) == f['d'] then
    redis.call('DEL', record)
  end
  redis.call('XDEL', KEYS[1], entry[1])
  removed = removed + 1
end
if #entries < tonumber(ARGV[2]) then
  return {removed, 1}
end
return {removed, 0}
"""

# Removes up to ARGV[2] of the oldest entries of a stream whose 'at' is before ARGV[1] (the
# stream lists them in the order recorded). Returns {removed, done} as PRUNE_DECISIONS.
PRUNE_STREAM = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])
local removed = 0
for _, entry in ipairs(entries) do
  local at
  for i = 1, #entry[2], 2 do
    if entry[2][i] == 'at' then
      at = entry[2][i + 1]
    end
  end
  if at and tonumber(at) >= tonumber(ARGV[1]) then
    return {removed, 1}
  end
  redis.call('XDEL', KEYS[1], entry[1])
  removed = removed + 1
end
if #entries < tonumber(ARGV[2]) then
  return {removed, 1}
end
return {removed, 0}
"""

FORGET_IDLE_CONSUMERS = """
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if consumers['err'] then
  return 0
end
local forgotten = 0
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do
    f[c[i]] = c[i + 1]
  end
  if f['pending'] == 0 and f['idle'] > tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    forgotten = forgotten + 1
  end
end
return forgotten
"""
