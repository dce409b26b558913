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

local function clearKeys()
  local fields = redis.call('HKEYS', cluster)
  for _, f in ipairs(fields) do
    if string.sub(f, 1, 2) == 'k:' then redis.call('HDEL', cluster, f) end
  end
end

if meta.op == 'set' then
  redis.call('HDEL', cluster, 'd')
  clearKeys()
  seq = 0
  if meta.mode == 'v' then
    if meta.set[1] ~= nil then redis.call('HSET', cluster, 'd', '0' .. stored(1)) end
  else
    for i, key in ipairs(meta.set) do
      seq = seq + 1
      redis.call('HSET', cluster, 'k:' .. key, seq .. stored(i))
    end
  end
  mode = meta.mode
elseif meta.op == 'patch' then
  if mode == 'v' then
    if redis.call('HEXISTS', cluster, 'd') == 1 then return {'not_object', version, prev} end
    mode = 'c'
  end
  local changed = false
  for i, key in ipairs(meta.set) do
    local old = redis.call('HGET', cluster, 'k:' .. key)
    local keySeq = old and string.match(old, '^(%d+):')
    if not keySeq then
      seq = seq + 1
      keySeq = seq
    end
    redis.call('HSET', cluster, 'k:' .. key, keySeq .. stored(i))
    changed = true
  end
  for _, key in ipairs(meta.del or {}) do
    if redis.call('HDEL', cluster, 'k:' .. key) == 1 then changed = true end
  end
  if not changed then return {'noop', version, prev} end
else
  return redis.error_reply('commit-2: unknown op ' .. tostring(meta.op))
end

version = version + 1
local hash = redis.sha1hex(prev .. '\n' .. version .. '\n' .. ARGV[9])
redis.call('HSET', cluster, 'v', version, 'h', hash, 'mode', mode, 'seq', seq, 'wt', at)
redis.call('SET', record, version .. ' ' .. hash .. ' ' .. prev .. ' ' .. at, 'PX', ARGV[6])

local parts = {ARGV[3] .. ',"n":' .. version .. ',"h":"' .. hash .. '","p":"' .. prev .. '","at":' .. at .. '}', ARGV[8], ARGV[9]}
for i = 10, #ARGV do parts[#parts + 1] = ARGV[i] end
local frame = table.concat(parts, '\n')
for id in string.gmatch(nodes, '%S+') do
  if id ~= writer then redis.call(ARGV[1], ARGV[2] .. id, frame) end
end
return {'ok', version, hash, prev, at}
