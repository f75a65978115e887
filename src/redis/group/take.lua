-- A group consumer takes entries pending with it (Rust `redis::group`);
-- bounded.lua comes before it.
--
-- KEYS[1]: the stream; KEYS[2]: its dead-letter stream; KEYS[3]: the group's
--          attempt counts (a hash: entry id -> handler failures).
-- ARGV[1]: the group; ARGV[2]: this consumer;
-- ARGV[3]: "data" to fetch the entries (a retry: counted as a delivery), or
--          "lease" to keep them (reset their idle time, so no other
--          consumer claims them while this one is still working through
--          its batch);
-- ARGV[4]: the `errors` of a dead letter for an entry deleted while pending
--          (JSON, written by the Rust side, which writes the same elsewhere);
-- ARGV[5]: the payload size limit ("data": a value over it stays in Redis);
-- ARGV[6..]: the entry ids.
--
-- Entries another consumer has claimed in the meantime are left to it. An
-- entry deleted from the stream while pending is dead-lettered as
-- `deleted` and acknowledged, once.
--
-- Returns {taken, deleted}: taken as {id, fields, size} (bounded.lua;
-- "lease": ids), deleted as ids.

local stream, dead, attempts = KEYS[1], KEYS[2], KEYS[3]
local group, me, mode, deleted_errors = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit = tonumber(ARGV[5])

local taken, deleted = {}, {}
for i = 6, #ARGV do
  local id = ARGV[i]
  local pending = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if pending and pending[2] == me then
    if #redis.call('XRANGE', stream, id, id) == 0 then
      redis.call('XADD', dead, '*', 'reason', 'deleted', 'errors', deleted_errors, 'id', id,
        'group', group, 'consumer', me, 'deliveries', pending[4],
        'attempts', redis.call('HGET', attempts, id) or 0)
      redis.call('XACK', stream, group, id)
      redis.call('HDEL', attempts, id)
      deleted[#deleted + 1] = id
    elseif mode == 'data' then
      taken[#taken + 1] = bounded(redis.call('XCLAIM', stream, group, me, 0, id)[1], limit)
    else
      redis.call('XCLAIM', stream, group, me, 0, id, 'JUSTID')
      taken[#taken + 1] = id
    end
  end
end
return {taken, deleted}
