--[[
  put-4: writes a whole cluster state where there is none — a node starting
  a cluster of its own ('create'), or a member writing back the state Redis
  lost ('restore') — registers the cluster, refreshes the caller's node key,
  and tells the other members to read it.

  KEYS[1]  the cluster's hash            {ns}:cluster:<clusterId>
  KEYS[2]  the registry of clusters      {ns}:clusters
  KEYS[3]  the restore lock              {ns}:restore:<clusterId> (released if the caller holds it)
  KEYS[4]  the caller's node key         {ns}:snapshot:<id>

  ARGV[1]  publish command               PUBLISH | SPUBLISH
  ARGV[2]  member channel prefix         {ns}:node:
  ARGV[3]  header, open                  {"v":2,"t":"change","ns":…,"c":…,"from":…
  ARGV[4]  the caller's id
  ARGV[5]  'create' | 'restore'
  ARGV[6]  version
  ARGV[7]  hash                          '' for 'create': computed here
  ARGV[8]  members                       space-separated
  ARGV[9]  leader
  ARGV[10] fanout
  ARGV[11] gossip interval, ms
  ARGV[12] data mode                     'v' | 'c'
  ARGV[13] last data write time          0: never written
  ARGV[14] created                       0 for 'create': now
  ARGV[15] last key seq
  ARGV[16] node key TTL, ms
  ARGV[17…] data fields and values, in pairs ('d' or 'k:<key>', '<seq>:<time>:<sig>:<text>')

  Returns
    {'ok', version, hash, at}
    {'exists', version, hash}
]]
local cluster = KEYS[1]
local existing = redis.call('HMGET', cluster, 'v', 'h')
if existing[1] then return {'exists', tonumber(existing[1]), existing[2]} end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = string.match(cluster, ':cluster:(.*)$')
local version, hash = ARGV[6], ARGV[7]
if hash == '' then hash = redis.sha1hex('create\n' .. id .. '\n' .. version) end
local created = ARGV[14]
if created == '0' then created = now end

redis.call('HSET', cluster, 'v', version, 'h', hash, 'nodes', ARGV[8], 'leader', ARGV[9], 'fanout', ARGV[10], 'gi', ARGV[11],
  'mode', ARGV[12], 'wt', ARGV[13], 'created', created, 'seq', ARGV[15])
for i = 17, #ARGV, 2 do redis.call('HSET', cluster, ARGV[i], ARGV[i + 1]) end

local size = 0
for _ in string.gmatch(ARGV[8], '%S+') do size = size + 1 end
redis.call('HSET', KEYS[2], id, now .. ' ' .. size .. ' ' .. created .. ' ' .. ARGV[11])
redis.call('HSET', KEYS[4], 'c', id, 'v', version, 'nodes', ARGV[8], 'gi', ARGV[11], 'seen', now)
redis.call('PEXPIRE', KEYS[4], ARGV[16])
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end

if ARGV[5] == 'restore' then
  local frame = ARGV[3] .. ',"n":' .. version .. ',"h":"' .. hash .. '","p":"","at":' .. now .. '}\n\n{"op":"restore"}'
  for member in string.gmatch(ARGV[8], '%S+') do
    if member ~= ARGV[4] then redis.call(ARGV[1], ARGV[2] .. member, frame) end
  end
end
return {'ok', tonumber(version), hash, now}
