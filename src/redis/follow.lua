-- One read of a stream follower (Rust `redis::follow`, npm `followEnvelopes`,
-- Python `follow_envelopes`); bounded.lua comes before it.
--
-- KEYS[1]: the stream.
-- ARGV[1]: the cursor: the last id delivered, or `$` for "the newest now".
-- ARGV[2]: entries per read.
-- ARGV[3]: the payload size limit: a `data` field over it comes back as its
--          size alone, so a follower never holds a payload it would reject
--          (any other field over it comes back empty).
-- ARGV[4]: how many entries the stream had added up to and including the
--          cursor (XINFO's entries-added), or "" when not known;
-- ARGV[5]: "1" when the last read left entries after the cursor (so losing
--          them can be told even when their number cannot).
--
-- It reads the counters and the entries in one atomic step, so a gap (entries
-- trimmed or deleted after the cursor before they were read) is measured
-- exactly: entries added after the cursor, less those still in the stream.
--
-- Returns {state, cursor, index, missed, next, entries, more}:
--   state:   "ok", "absent" (no such stream) or "reset" (the stream's newest
--            id is below the cursor: it was deleted and made anew);
--   cursor:  the cursor, `$` resolved;
--   index:   entries-added at the last entry returned, or -1 when not known;
--   missed:  entries lost after the cursor; -1 when none, -2 when some but
--            how many is not known;
--   next:    the first id after the gap (the newest id when none is left);
--   entries: {id, fields, size}: fields as XRANGE gives them, except that
--            `data` over the limit is "" and size is its length (else 0);
--   more:    1 when entries are left after the last one returned, else 0.

local key = KEYS[1]
local cursor = ARGV[1]
local count = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local index = tonumber(ARGV[4])
local had_more = ARGV[5] == '1'

if redis.call('EXISTS', key) == 0 then
  -- Everything the stream will hold comes after `$`.
  if cursor == '$' then return {'absent', '0-0', 0, -1, '', {}, 0} end
  return {'absent', cursor, -1, -1, '', {}, 0}
end

local field = by_name(redis.call('XINFO', 'STREAM', key))
local length = field['length']
local newest = field['last-generated-id']
local added = field['entries-added'] -- Redis 7 and later
local first = field['first-entry'] and field['first-entry'][1]

if cursor == '$' then
  cursor = newest
  index = added
elseif id_less(newest, cursor) then
  return {'reset', cursor, -1, -1, newest, {}, 0}
end
-- From the start, what was trimmed before is not this follower's loss.
if not index and added and (cursor == '0' or cursor == '0-0') then
  index = added - length
end

-- Trimming removes the oldest entries first: entries after the cursor were
-- lost only if what is left of the stream starts after it.
local missed = -1
local next_id = newest
if first then next_id = first end
if id_less(cursor, next_id) then
  if index and added then
    local lost = added - index - length
    if lost > 0 then missed = lost end
  elseif had_more then
    missed = -2
  end
end

local read = redis.call('XRANGE', key, '(' .. cursor, '+', 'COUNT', count + 1)
local more = 0
if #read > count then
  more = 1
  read[#read] = nil
end
local entries = {}
for i, entry in ipairs(read) do entries[i] = bounded(entry, limit) end

-- Known afresh whenever the read reaches the end of the stream.
local at = -1
if added and more == 0 then
  at = added
elseif index and added and missed ~= -2 then
  at = index + math.max(missed, 0) + #read
end
return {'ok', cursor, at, missed, next_id, entries, more}
