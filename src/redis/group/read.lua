-- A group consumer reads new entries (Rust `redis::group`): XREADGROUP `>`,
-- with every payload over the size limit left in Redis, and entries trimmed
-- before the group read them counted, in one atomic step; bounded.lua comes
-- before it.
--
-- KEYS[1]: the stream.
-- ARGV[1]: the group; ARGV[2]: this consumer; ARGV[3]: the most entries;
-- ARGV[4]: the payload size limit.
--
-- A gap is measured as a follower's is (follow.lua): the entries the stream
-- added after the group's last delivered id (entries-added less the group's
-- entries-read), less those still in the stream, when what is left of the
-- stream starts after that id. Redis counts the first entry it delivers
-- after a trim as one more read, not as the gap's end; the script sets the
-- group's entries-read to what it is, so the gap is told once and the
-- group's lag stays right.
--
-- Redis 7.0 writes an XREADGROUP to the AOF and to replicas as XCLAIMs,
-- which carry no entries-read: after a restart from the AOF, or on a
-- replica made primary, the count would be the last one set by hand, and
-- the next trim past the group would be told as a loss of every entry read
-- since (scripts/soak.py found it). So after each read that delivered
-- entries the script sets the count as it is, and that goes to the AOF.
--
-- Returns {entries, missed, after, before}:
--   entries: {id, fields, size} (bounded.lua);
--   missed:  entries lost to trimming before the group read them, or 0;
--   after:   the group's last delivered id before this read;
--   before:  the first id after the gap (the newest id when none is left).

local stream = KEYS[1]
local group, me, count, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

if redis.call('EXISTS', stream) == 0 then
  -- Redis's own answer (NOGROUP): the consumer makes the group anew.
  return redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', count, 'STREAMS', stream, '>')
end
local function group_state()
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local fields = by_name(g)
    if fields['name'] == group then return fields end
  end
end
local info = by_name(redis.call('XINFO', 'STREAM', stream))
local state = group_state()
if not state then
  return redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', count, 'STREAMS', stream, '>')
end

local after = state['last-delivered-id']
local read_so_far = state['entries-read'] -- false when Redis lost count
local added = info['entries-added'] -- Redis 7 and later
local length = info['length']
local newest = info['last-generated-id']
local before = newest
if info['first-entry'] then before = info['first-entry'][1] end

-- Without a count (Redis lost it: an XDEL past the group's position, a
-- group made at an explicit id) no loss can be told, and Redis estimates
-- the count afresh at this read.
local missed = 0
if read_so_far and added and id_less(after, before) then
  missed = math.max(added - read_so_far - length, 0)
end

local reply = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', count, 'STREAMS', stream, '>')
local entries = {}
if reply then
  for i, entry in ipairs(reply[1][2]) do entries[i] = bounded(entry, limit) end
end
if missed > 0 then
  local last, index = newest, added
  if #entries > 0 and entries[#entries][1] ~= newest then
    last, index = entries[#entries][1], read_so_far + missed + #entries
  end
  redis.call('XGROUP', 'SETID', stream, group, last, 'ENTRIESREAD', index)
elseif #entries > 0 then
  local now = group_state()
  if now and now['entries-read'] then
    redis.call('XGROUP', 'SETID', stream, group, now['last-delivered-id'], 'ENTRIESREAD', now['entries-read'])
  end
end
return {entries, missed, after, before}
