--[[
  commit-2: one data write (set, compare-and-set, config patch), atomically:
  check, apply, bump the version and the hash chain, record the write id,
  publish the change to every other member.

  KEYS[1]  the cluster's hash           {ns}:cluster:<clusterId>
  KEYS[2]  the write's record           {ns}:write:<writeId>

  ARGV[1]  publish command              PUBLISH | SPUBLISH
  ARGV[2]  member channel prefix        {ns}:node:
  ARGV[3]  header, open                 {"v":2,"t":"change","ns":…,"c":…,"from":…
  ARGV[4]  the writer's id              must be a member; not published to ('' for an observer: every member is)
  ARGV[5]  base hash                    '' for an unconditional write
  ARGV[6]  write record TTL, ms
  ARGV[7]  replay window, ms            the writer's stamp (meta.ts) must be this close to Redis's clock
  ARGV[8]  signature line               '' when unsigned
  ARGV[9]  meta (JSON)                  {"w":id,"ts":ms,"op":"set"|"patch","mode":"v"|"c","set":[keys],"del":[keys],"sigs":[…]}
  ARGV[10…] value texts, in the order of meta.set

  Returns
    {'ok',   version, hash, prev, at}   committed now (at: the commit time, in µs of Redis's clock)
    {'dup',  version, hash, prev, at}   this write id was committed before
    {'noop', version, hash}             nothing to change (deleting keys that are not there)
    {'conflict', version, hash}         the base hash is not the current one
    {'missing'}                         the cluster's hash is gone (Redis lost it)
    {'not_member', version, hash}       the writer is not a member
    {'not_object', version, hash}       a patch on data that is not an object
    {'stale', now}                      the writer's stamp is outside the replay window
]]
local cluster, record = KEYS[1], KEYS[2]

local done = redis.call('GET', record)
if done then
  local v, h, p, at = string.match(done, '^(%d+) (%x+) (%x+) (%d+)$')
  return {'dup', tonumber(v), h, p, at}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Commit times are in microseconds: two commits (scripts run one at a time) never share one, so "the later write" is exact.
-- (Kept as a string: Lua would print a 16-digit number as 1.79e+15.)
local at = t[1] .. string.format('%06d', tonumber(t[2]))
local meta = cjson.decode(ARGV[9])
if math.abs(now - tonumber(meta.ts)) > tonumber(ARGV[7]) then return {'stale', now} end

local head = redis.call('HMGET', cluster, 'v', 'h', 'nodes', 'mode', 'seq')
if not head[1] then return {'missing'} end
local version, prev, nodes, mode, seq = tonumber(head[1]), head[2], head[3], head[4], tonumber(head[5])
local writer = ARGV[4]

local member = writer == ''
for id in string.gmatch(nodes, '%S+') do
  if id == writer then member = true end
end
if not member then return {'not_member', version, prev} end
if ARGV[5] ~= '' and ARGV[5] ~= prev then return {'conflict', version, prev} end

local sigs = meta.sigs or {}
local function stored(i) return ':' .. at .. ':' .. (sigs[i] or '') .. ':' .. ARGV[9 + i] end

-- Every field this commit writes goes out in one HSET (in chunks: unpack has a limit), the state's own fields last.
local fields = {}
local function field(name, value) fields[#fields + 1] = name; fields[#fields + 1] = value end
local function call(cmd, list)
  for i = 1, #list, 4000 do redis.call(cmd, cluster, unpack(list, i, math.min(i + 3999, #list))) end
end

if meta.op == 'set' then
  -- The fields the new value does not write again: the old keys it drops (and 'd', or every key, across modes).
  local keep = {}
  if meta.mode ~= 'v' then for _, key in ipairs(meta.set) do keep['k:' .. key] = true end end
  local gone = {}
  for _, f in ipairs(redis.call('HKEYS', cluster)) do
    if (f == 'd' and (meta.mode ~= 'v' or meta.set[1] == nil)) or (string.sub(f, 1, 2) == 'k:' and not keep[f]) then gone[#gone + 1] = f end
  end
  if #gone > 0 then call('HDEL', gone) end
  seq = 0
  if meta.mode == 'v' then
    if meta.set[1] ~= nil then field('d', '0' .. stored(1)) end
  else
    for i, key in ipairs(meta.set) do
      seq = seq + 1
      field('k:' .. key, seq .. stored(i))
    end
  end
  mode = meta.mode
elseif meta.op == 'patch' then
  if mode == 'v' then
    if redis.call('HEXISTS', cluster, 'd') == 1 then return {'not_object', version, prev} end
    mode = 'c'
  end
  local changed = false
  if #meta.set > 0 then
    local names = {}
    for i, key in ipairs(meta.set) do names[i] = 'k:' .. key end
    local olds = {}
    for i = 1, #names, 4000 do
      local got = redis.call('HMGET', cluster, unpack(names, i, math.min(i + 3999, #names)))
      for j, old in ipairs(got) do olds[i + j - 1] = old end
    end
    for i, name in ipairs(names) do
      local keySeq = olds[i] and string.match(olds[i], '^(%d+):')
      if not keySeq then
        seq = seq + 1
        keySeq = seq
      end
      field(name, keySeq .. stored(i))
    end
    changed = true
  end
  if meta.del and #meta.del > 0 then
    local names = {}
    for i, key in ipairs(meta.del) do names[i] = 'k:' .. key end
    for i = 1, #names, 4000 do
      if redis.call('HDEL', cluster, unpack(names, i, math.min(i + 3999, #names))) > 0 then changed = true end
    end
  end
  if not changed then return {'noop', version, prev} end
else
  return redis.error_reply('commit-2: unknown op ' .. tostring(meta.op))
end

version = version + 1
local hash = redis.sha1hex(prev .. '\n' .. version .. '\n' .. ARGV[9])
field('v', version); field('h', hash); field('mode', mode); field('seq', seq); field('wt', at)
call('HSET', fields)
redis.call('SET', record, version .. ' ' .. hash .. ' ' .. prev .. ' ' .. at, 'PX', ARGV[6])

local parts = {ARGV[3] .. ',"n":' .. version .. ',"h":"' .. hash .. '","p":"' .. prev .. '","at":' .. at .. '}', ARGV[8], ARGV[9]}
for i = 10, #ARGV do parts[#parts + 1] = ARGV[i] end
local frame = table.concat(parts, '\n')
for id in string.gmatch(nodes, '%S+') do
  if id ~= writer then redis.call(ARGV[1], ARGV[2] .. id, frame) end
end
return {'ok', version, hash, prev, at}
