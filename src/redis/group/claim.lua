-- A group consumer claims entries left idle by another (Rust `redis::group`):
-- XAUTOCLAIM, with every payload over the size limit left in Redis;
-- bounded.lua comes before it.
--
-- KEYS[1]: the stream; KEYS[2]: its dead-letter stream; KEYS[3]: the group's
--          attempt counts.
-- ARGV[1]: the group; ARGV[2]: this consumer; ARGV[3]: the idle time, in ms;
-- ARGV[4]: the most entries to claim; ARGV[5]: the payload size limit;
-- ARGV[6]: the `errors` of a dead letter for an entry deleted while pending.
--
-- XAUTOCLAIM drops entries deleted while pending from the group and tells
-- only the consumer that claims: their dead letters are written here, in the
-- same step, so none is lost between the claim and the dead letter.
--
-- Returns {claimed, deleted}: claimed as {id, fields, size}, deleted as ids.

local stream, dead, attempts = KEYS[1], KEYS[2], KEYS[3]
local group, me, idle, count = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local limit, deleted_errors = tonumber(ARGV[5]), ARGV[6]

local claimed, deleted = {}, {}
local cursor = '0-0'
-- Each call scans at most 10 x COUNT pending entries: a bounded number of
-- calls keeps the script short whatever the group holds.
for _ = 1, 100 do
  local reply = redis.call('XAUTOCLAIM', stream, group, me, idle, cursor,
    'COUNT', count - #claimed)
  for _, entry in ipairs(reply[2]) do
    claimed[#claimed + 1] = bounded(entry, limit)
  end
  for _, id in ipairs(reply[3] or {}) do
    redis.call('XADD', dead, '*', 'reason', 'deleted', 'errors', deleted_errors, 'id', id,
      'group', group, 'consumer', me,
      'attempts', redis.call('HGET', attempts, id) or 0)
    redis.call('HDEL', attempts, id)
    deleted[#deleted + 1] = id
  end
  cursor = reply[1]
  if cursor == '0-0' or #claimed >= count then break end
end
return {claimed, deleted}
