-- A range of a stream read with every value over a size limit left in
-- Redis (Rust `redis::read_entries`, `read_entries_before`, `dead_letters`;
-- npm `readEnvelopes`; Python `read_envelopes`); bounded.lua comes before it.
--
-- KEYS[1]: the stream.
-- ARGV[1]: "XRANGE" or "XREVRANGE"; ARGV[2], ARGV[3]: its two bounds, as
--          that command takes them; ARGV[4]: the most entries;
-- ARGV[5]: the size limit: a value over it comes back as "" (for `data`,
--          with its size), so no client holds more than the limit of one.
--
-- Returns the entries as {id, fields, size} (see bounded.lua).

local command = ARGV[1]
if command ~= 'XRANGE' and command ~= 'XREVRANGE' then
  return redis.error_reply('ERR range.lua reads with XRANGE or XREVRANGE')
end
local limit = tonumber(ARGV[5])
local read = redis.call(command, KEYS[1], ARGV[2], ARGV[3], 'COUNT', ARGV[4])
local entries = {}
for i, entry in ipairs(read) do entries[i] = bounded(entry, limit) end
return entries
