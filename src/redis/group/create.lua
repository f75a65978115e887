-- Makes a consumer group (and its stream) unless it exists (Rust
-- `redis::group`), with its entries-read count set, so that read.lua can
-- tell entries trimmed before the group read them from the start. Redis
-- leaves the count unknown for a group made at `$` on an empty stream, and
-- then never tells a loss; bounded.lua comes before it.
--
-- KEYS[1]: the stream. ARGV[1]: the group; ARGV[2]: where it starts: `$`,
-- `0` or an entry id (whose count is not known: left to Redis).
--
-- Returns 1 when it made the group, 0 when it was there.

local stream, group, start = KEYS[1], ARGV[1], ARGV[2]
local added, length = 0, 0
if redis.call('EXISTS', stream) == 1 then
  local info = by_name(redis.call('XINFO', 'STREAM', stream))
  added, length = info['entries-added'] or 0, info['length']
end
local create = {'XGROUP', 'CREATE', stream, group, start, 'MKSTREAM'}
if start == '$' then
  create[#create + 1] = 'ENTRIESREAD'
  create[#create + 1] = added
elseif start == '0' or start == '0-0' then
  -- What was trimmed before the group was made is not its loss.
  create[#create + 1] = 'ENTRIESREAD'
  create[#create + 1] = added - length
end
local made = redis.pcall(unpack(create))
if type(made) == 'table' and made.err then
  if string.sub(made.err, 1, 9) == 'BUSYGROUP' then return 0 end
  return made
end
return 1
