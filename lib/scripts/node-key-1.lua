--[[
  node-key-1: writes a node's key — the cluster it is in, that cluster's
  version and members when the node last held it, and when the node was seen
  (or stopped) — with its TTL. A key that names another cluster at a higher
  version is not moved back: a merge pointed it there while the node was
  still holding its old cluster (it is stopping, say); then only the time is
  written, and the node restarts into the cluster the merge made.

  KEYS[1]  the node key                  {ns}:snapshot:<id>

  ARGV[1]  the cluster
  ARGV[2]  its version
  ARGV[3]  its members, space-separated
  ARGV[4]  its gossip interval, ms
  ARGV[5]  'seen' | 'stopped'
  ARGV[6]  the time, ms of Redis's clock
  ARGV[7]  the key's TTL, ms

  Returns 1 when the key names the cluster given, 0 when it names a newer one.
]]
local cur = redis.call('HMGET', KEYS[1], 'c', 'v')
local named = 1
if cur[1] and cur[1] ~= ARGV[1] and (tonumber(cur[2]) or 0) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[5], ARGV[6])
  named = 0
else
  redis.call('HSET', KEYS[1], 'c', ARGV[1], 'v', ARGV[2], 'nodes', ARGV[3], 'gi', ARGV[4], ARGV[5], ARGV[6])
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return named
