-- Shared by every script that reads entries (Rust `redis::scripts` puts it
-- before each; `scripts/pkg-sources.mjs` does the same for npm).
--
-- bounded(entry, limit): an entry {id, fields} as XRANGE gives it becomes
-- {id, fields, size}: each field value over `limit` bytes is replaced by ""
-- (so no client ever receives a payload it would reject), and size is the
-- length of `data` when it was over the limit, else 0.
local function bounded(entry, limit)
  local fields = entry[2]
  local size = 0
  for f = 2, #fields, 2 do
    local length = #fields[f]
    if length > limit then
      if fields[f - 1] == 'data' then size = length end
      fields[f] = ''
    end
  end
  entry[3] = size
  return entry
end

-- Ids compare as two decimal numbers; as text, so no precision is lost.
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-?(%d*)$')
  if seq == '' then seq = '0' end
  return (string.gsub(ms, '^0+(%d)', '%1')), (string.gsub(seq, '^0+(%d)', '%1'))
end

local function number_less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end

local function id_less(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  if am ~= bm then return number_less(am, bm) end
  return number_less(as, bs)
end

-- A flat reply of name/value pairs (XINFO's) as a table by name.
local function by_name(reply)
  local t = {}
  for i = 1, #reply, 2 do t[reply[i]] = reply[i + 1] end
  return t
end
