--[[
  merge-3: one cluster takes in another, dropping nothing acknowledged.
  Members: the union the caller computed. Data: config keys merged key by
  key (every key of either side survives; a key both wrote keeps the later
  write by commit time); otherwise the side written last wins; a side never
  written never wins. The version goes above both sides'. The absorbed
  cluster's hash and registry entry are deleted; every member's node key
  points at the merged cluster; every member is told to read the merged state.

  KEYS[1]  the surviving cluster's hash  {ns}:cluster:<target>
  KEYS[2]  the absorbed cluster's hash   {ns}:cluster:<absorbed>
  KEYS[3]  the registry of clusters      {ns}:clusters

  ARGV[1]  publish command               PUBLISH | SPUBLISH
  ARGV[2]  member channel prefix         {ns}:node:
  ARGV[3]  header, open                  {"v":2,"t":"change","ns":…,"c":<target>,"from":…
  ARGV[4]  the caller's id               not published to
  ARGV[5]  the surviving side's hash     as the caller saw it
  ARGV[6]  the absorbed side's hash      as the caller saw it
  ARGV[7]  members                       space-separated
  ARGV[8]  leader
  ARGV[9]  description (JSON)            goes into the hash chain

  Returns
    {'ok', version, hash, prev, at}
    {'conflict', 'target'|'absorbed', version, hash}
    {'missing', 'target'|'absorbed'}
]]
local target, absorbed = KEYS[1], KEYS[2]
local fields = {'v', 'h', 'mode', 'wt', 'seq', 'gi'}
local t = redis.call('HMGET', target, unpack(fields))
local a = redis.call('HMGET', absorbed, unpack(fields))
if not t[1] then return {'missing', 'target'} end
if not a[1] then return {'missing', 'absorbed'} end
if t[2] ~= ARGV[5] then return {'conflict', 'target', tonumber(t[1]), t[2]} end
if a[2] ~= ARGV[6] then return {'conflict', 'absorbed', tonumber(a[1]), a[2]} end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
-- Times are µs strings (16 digits: exact as numbers, but Lua would print them as 1.79e+15).
local tWt, aWt = tonumber(t[4] or '0'), tonumber(a[4] or '0')
local seq = tonumber(t[5] or '0')
local mode = t[3]

-- The data fields of a hash: d and k:<key> → {field, value, seq, time}, in key order.
local function dataOf(key)
  local out = {}
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    local f, v = flat[i], flat[i + 1]
    if f == 'd' or string.sub(f, 1, 2) == 'k:' then
      local s, at = string.match(v, '^(%d+):(%d+):')
      out[#out + 1] = {f, v, tonumber(s), tonumber(at)}
    end
  end
  table.sort(out, function(x, y) return x[3] < y[3] end)
  return out
end

local function replaceWith(fromKey, fromMode, fromSeq)
  for _, e in ipairs(dataOf(target)) do redis.call('HDEL', target, e[1]) end
  for _, e in ipairs(dataOf(fromKey)) do redis.call('HSET', target, e[1], e[2]) end
  mode, seq = fromMode, fromSeq
end

if aWt == 0 then
  -- the absorbed side was never written: the surviving data stands
elseif tWt == 0 then
  replaceWith(absorbed, a[3], tonumber(a[5] or '0'))
elseif t[3] == 'c' and a[3] == 'c' then
  for _, e in ipairs(dataOf(absorbed)) do
    local mine = redis.call('HGET', target, e[1])
    if not mine then
      seq = seq + 1
      redis.call('HSET', target, e[1], seq .. string.sub(e[2], #tostring(e[3]) + 1))
    else
      local s, at = string.match(mine, '^(%d+):(%d+):')
      if e[4] > tonumber(at) then redis.call('HSET', target, e[1], s .. string.sub(e[2], #tostring(e[3]) + 1)) end
    end
  end
elseif aWt > tWt then
  replaceWith(absorbed, a[3], tonumber(a[5] or '0'))
end

local version = math.max(tonumber(t[1]), tonumber(a[1])) + 1
local hash = redis.sha1hex(t[2] .. '\n' .. a[2] .. '\n' .. version .. '\n' .. ARGV[9])
redis.call('HSET', target, 'v', version, 'h', hash, 'nodes', ARGV[7], 'leader', ARGV[8], 'mode', mode, 'seq', seq, 'wt', aWt > tWt and a[4] or (t[4] or '0'))
redis.call('DEL', absorbed)
-- The members that are down, on either side, restart into the merged cluster: their node keys point at it now,
-- at its version and members (so a member stopping meanwhile with the old cluster does not move its key back:
-- node-key-1.lua). The same hash tag, so the same slot; only keys that exist, and never their liveness.
local keyPrefix = string.gsub(target, ':cluster:.*$', ':snapshot:')
for member in string.gmatch(ARGV[7], '%S+') do
  local nodeKey = keyPrefix .. member
  if redis.call('EXISTS', nodeKey) == 1 then redis.call('HSET', nodeKey, 'c', string.match(target, ':cluster:(.*)$'), 'v', version, 'nodes', ARGV[7]) end
end

local targetId = string.match(target, ':cluster:(.*)$')
local absorbedId = string.match(absorbed, ':cluster:(.*)$')
redis.call('HDEL', KEYS[3], absorbedId)
local size = 0
for _ in string.gmatch(ARGV[7], '%S+') do size = size + 1 end
local created = redis.call('HGET', target, 'created') or now
redis.call('HSET', KEYS[3], targetId, now .. ' ' .. size .. ' ' .. created .. ' ' .. t[6])

local frame = ARGV[3] .. ',"n":' .. version .. ',"h":"' .. hash .. '","p":"' .. t[2] .. '","at":' .. now .. '}\n\n' .. ARGV[9]
for member in string.gmatch(ARGV[7], '%S+') do
  if member ~= ARGV[4] then redis.call(ARGV[1], ARGV[2] .. member, frame) end
end
return {'ok', version, hash, t[2], now}
