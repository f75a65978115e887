-- A group consumer settles the entries it handled (Rust `redis::group`), a
-- batch in one call, each only while it is still pending with this
-- consumer: so an entry is dead-lettered once, with its acknowledgement,
-- however consumers race. It reads no entry to hand out, so nothing of
-- bounded.lua comes before it.
--
-- KEYS[1]: the stream; KEYS[2]: its dead-letter stream; KEYS[3]: the group's
--          attempt counts (a hash: entry id -> handler failures).
-- ARGV[1]: the group; ARGV[2]: this consumer; ARGV[3]: how many entries to
-- acknowledge (handled), then their ids; then one run per other entry:
--   the entry id;
--   "fail" (the handler failed: count the attempt) or "bury" (dead-letter
--   it, with the field/value pairs that follow);
--   with "bury", "copy" to copy the entry's `data` from the stream into the
--   dead letter here, in Redis (an entry over the size limit, which the
--   consumer never fetched), else "";
--   how many field/value items follow (0 for "fail"), then the items.
--
-- Returns {ids, results}: ids, the entries to acknowledge that are no
-- longer this consumer's (acknowledged or claimed by another), nearly
-- always none; results, one number per other entry, in order: -1 when it
-- is no longer this consumer's, else the attempts so far for "fail", the
-- entry's delivery count for "bury".

local stream, dead, attempts = KEYS[1], KEYS[2], KEYS[3]
local group, me, acks = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function bury(id, pending, copy, first, last)
  local fields = {}
  if copy == 'copy' then
    local entry = redis.call('XRANGE', stream, id, id)[1]
    local values = entry and entry[2] or {}
    for i = 1, #values, 2 do
      if values[i] == 'data' then
        fields[#fields + 1] = 'data'
        fields[#fields + 1] = values[i + 1]
      end
    end
  end
  for i = first, last do fields[#fields + 1] = ARGV[i] end
  fields[#fields + 1] = 'deliveries'
  fields[#fields + 1] = pending[4]
  fields[#fields + 1] = 'attempts'
  fields[#fields + 1] = redis.call('HGET', attempts, id) or 0
  redis.call('XADD', dead, '*', unpack(fields))
end

-- Which entries are pending with this consumer: usually its whole pending
-- list is this batch, which one XPENDING gives; when it lists more, each
-- entry not among those listed is asked for by itself.
local listed = redis.call('XPENDING', stream, group, '-', '+', 2 * #ARGV, me)
local whole = #listed < 2 * #ARGV
local mine = {}
for _, p in ipairs(listed) do mine[p[1]] = p end
local function pending_with_me(id)
  local p = mine[id]
  if p ~= nil or whole then return p end
  p = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if p and p[2] == me then return p end
end

-- Settled entries leave `mine` (an id given twice is settled once), and are
-- acknowledged together at the end, in chunks that unpack can take.
local acked, lost, results = {}, {}, {}
local function ack(id)
  mine[id] = false
  acked[#acked + 1] = id
end
for i = 4, 3 + acks do
  local id = ARGV[i]
  local pending = pending_with_me(id)
  if pending then ack(id) else lost[#lost + 1] = id end
end
local at = 4 + acks
while at <= #ARGV do
  local id, action, copy = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local first = at + 4
  at = first + tonumber(ARGV[at + 3])
  local pending = pending_with_me(id)
  local result = -1
  if pending and action == 'fail' then
    result = redis.call('HINCRBY', attempts, id, 1)
  elseif pending then
    bury(id, pending, copy, first, at - 1)
    result = pending[4]
    ack(id)
  end
  results[#results + 1] = result
end
for i = 1, #acked, 1000 do
  local last = math.min(i + 999, #acked)
  redis.call('XACK', stream, group, unpack(acked, i, last))
  redis.call('HDEL', attempts, unpack(acked, i, last))
end
return {lost, results}
