--[[
  meta-3: a change of the cluster itself — members, leader, settings —
  computed by the caller from the state it holds, committed only if that
  state is still current. Members are told to read the new state.

  KEYS[1]  the cluster's hash            {ns}:cluster:<clusterId>
  KEYS[2]  the registry of clusters      {ns}:clusters
  KEYS[3]  a node key to delete          {ns}:snapshot:<id> of an evicted member, or any unused key

  ARGV[1]  publish command               PUBLISH | SPUBLISH
  ARGV[2]  member channel prefix         {ns}:node:
  ARGV[3]  header, open                  {"v":2,"t":"change","ns":…,"c":…,"from":…
  ARGV[4]  the caller's id               not published to
  ARGV[5]  base hash                     the hash the caller computed from
  ARGV[6]  description (JSON)            {"op":"meta","why":…}; goes into the hash chain
  ARGV[7]  new members                   space-separated
  ARGV[8]  new leader
  ARGV[9]  fanout
  ARGV[10] gossip interval, ms
  ARGV[11] also tell                     space-separated ids that are no longer members (a removed node)
  ARGV[12] '1' to delete KEYS[3]
  ARGV[13] the least new version         0, or above what members held (after Redis lost commits)
  ARGV[14] lost versions                 '' or '<from> <to>': recorded (field 'lost', with this commit's
                                         version) so every member that held them can tell

  Returns
    {'ok', version, hash, prev, at}
    {'conflict', version, hash}
    {'missing'}
]]
local cluster = KEYS[1]
local head = redis.call('HMGET', cluster, 'v', 'h', 'nodes')
if not head[1] then return {'missing'} end
local version, prev, nodes = tonumber(head[1]), head[2], head[3]
if ARGV[5] ~= prev then return {'conflict', version, prev} end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
version = math.max(version + 1, tonumber(ARGV[13]))
local hash = redis.sha1hex(prev .. '\n' .. version .. '\n' .. ARGV[6])
redis.call('HSET', cluster, 'v', version, 'h', hash, 'nodes', ARGV[7], 'leader', ARGV[8], 'fanout', ARGV[9], 'gi', ARGV[10])
if ARGV[12] == '1' then redis.call('DEL', KEYS[3]) end
if ARGV[14] ~= '' and ARGV[14] ~= nil then redis.call('HSET', cluster, 'lost', ARGV[14] .. ' ' .. version) end

local id = string.match(KEYS[1], ':cluster:(.*)$')
local entry = redis.call('HGET', KEYS[2], id)
if entry then
  local size = 0
  for _ in string.gmatch(ARGV[7], '%S+') do size = size + 1 end
  local created = string.match(entry, '^%d+ %d+ (%d+)') or redis.call('HGET', cluster, 'created') or now
  redis.call('HSET', KEYS[2], id, now .. ' ' .. size .. ' ' .. created .. ' ' .. ARGV[10])
end

local frame = ARGV[3] .. ',"n":' .. version .. ',"h":"' .. hash .. '","p":"' .. prev .. '","at":' .. now .. '}\n\n' .. ARGV[6]
local told = {}
for _, list in ipairs({nodes, ARGV[7], ARGV[11]}) do
  for member in string.gmatch(list, '%S+') do
    if member ~= ARGV[4] and not told[member] then
      told[member] = true
      redis.call(ARGV[1], ARGV[2] .. member, frame)
    end
  end
end
return {'ok', version, hash, prev, now}
