-- A group consumer settles an entry it handled (Rust `redis::group`), only
-- while the entry is still pending with it: so an entry is dead-lettered
-- once, with its acknowledgement, however consumers race. It reads no
-- entry to hand out, so nothing of bounded.lua comes before it.
--
-- KEYS[1]: the stream; KEYS[2]: its dead-letter stream; KEYS[3]: the group's
--          attempt counts (a hash: entry id -> handler failures).
-- ARGV[1]: the group; ARGV[2]: this consumer; ARGV[3]: the entry id;
-- ARGV[4]: "ack" (handled), "fail" (the handler failed: count the attempt)
--          or "bury" (dead-letter it, with the field/value pairs ARGV[6..]);
-- ARGV[5]: with "bury", "copy" to copy the entry's `data` from the stream
--          into the dead letter here, in Redis (an entry over the size
--          limit, which the consumer never fetched), else "".
--
-- Returns -1 when the entry is no longer this consumer's (acknowledged or
-- claimed by another); else "ack" 0, "fail" the attempts so far, "bury" the
-- entry's delivery count.

local stream, dead, attempts = KEYS[1], KEYS[2], KEYS[3]
local group, me, id, action = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local pending = redis.call('XPENDING', stream, group, id, id, 1)[1]
if not pending or pending[2] ~= me then return -1 end

if action == 'fail' then
  return redis.call('HINCRBY', attempts, id, 1)
end
local result = 0
if action == 'bury' then
  local fields = {}
  if ARGV[5] == 'copy' then
    local entry = redis.call('XRANGE', stream, id, id)[1]
    local values = entry and entry[2] or {}
    for i = 1, #values, 2 do
      if values[i] == 'data' then
        fields[#fields + 1] = 'data'
        fields[#fields + 1] = values[i + 1]
      end
    end
  end
  for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
  fields[#fields + 1] = 'deliveries'
  fields[#fields + 1] = pending[4]
  fields[#fields + 1] = 'attempts'
  fields[#fields + 1] = redis.call('HGET', attempts, id) or 0
  redis.call('XADD', dead, '*', unpack(fields))
  result = pending[4]
end
redis.call('XACK', stream, group, id)
redis.call('HDEL', attempts, id)
return result
