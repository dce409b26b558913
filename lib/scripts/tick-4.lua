--[[
  tick-4: a node's anti-entropy tick against Redis, in one round trip:
  refresh its liveness (its node key, its cluster's registry entry) and
  read its cluster's head and what it needs to judge the leader. The node
  key is rewritten whole (cluster, version, members), so it comes back by
  itself after Redis lost it.

  KEYS[1]  the cluster's hash            {ns}:cluster:<clusterId>
  KEYS[2]  the registry of clusters      {ns}:clusters
  KEYS[3]  the caller's node key         {ns}:snapshot:<id>
  KEYS[4]  the leader's node key         {ns}:snapshot:<leader>

  ARGV[1]  the caller's id
  ARGV[2]  node key TTL, ms
  ARGV[3]  the leader's channel
  ARGV[4]  NUMSUB | SHARDNUMSUB

  Returns
    {'missing', now}
    {'ok', now, version, hash, listed (0|1), leader, leader last seen (0: never), leader's listeners}
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local head = redis.call('HMGET', KEYS[1], 'v', 'h', 'nodes', 'leader', 'gi', 'created')
if not head[1] then return {'missing', now} end

local listed, size = 0, 0
for id in string.gmatch(head[3], '%S+') do
  size = size + 1
  if id == ARGV[1] then listed = 1 end
end
redis.call('HSET', KEYS[3], 'c', string.match(KEYS[1], ':cluster:(.*)$'), 'v', head[1], 'nodes', head[3], 'gi', head[5], 'seen', now)
redis.call('PEXPIRE', KEYS[3], ARGV[2])
if listed == 1 then
  local id = string.match(KEYS[1], ':cluster:(.*)$')
  redis.call('HSET', KEYS[2], id, now .. ' ' .. size .. ' ' .. (head[6] or now) .. ' ' .. head[5])
end
local leaderSeen = tonumber(redis.call('HGET', KEYS[4], 'seen') or '0')
local listeners = redis.call('PUBSUB', ARGV[4], ARGV[3])
return {'ok', now, tonumber(head[1]), head[2], listed, head[4], leaderSeen, tonumber(listeners[2])}
