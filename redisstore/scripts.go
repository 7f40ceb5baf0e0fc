package redisstore

// The Lua scripts. Each runs atomically in Redis, and checks everything before it writes
// anything: a script that refuses leaves the keys as they were. Keys are passed in KEYS (all in
// the account's hash slot), so they run on Redis Cluster too.

// lockScript takes the lease. KEYS: lease, fence. ARGV: holder prefix (unique per Lock call,
// ending in '#'), TTL in ms. It returns {1, token} when the lease is ours (taken now, or by an
// earlier try of the same call that the client retried), or {0, value, pttl} when another
// holder has it. A lease key whose token is older than the newest issued was revoked (an
// operator's INCR on the fence key) and counts as free. The token comes from INCR on the fence
// key, only once the lease is free, so no token is spent on a refusal.
const lockScript = `
local v = redis.call('GET', KEYS[1])
if v then
  if string.sub(v, 1, #ARGV[1]) == ARGV[1] then
    return {1, tonumber(string.sub(v, #ARGV[1] + 1))}
  end
  local held = tonumber(string.match(v, '#(%d+)$') or '0')
  if held >= tonumber(redis.call('GET', KEYS[2]) or '0') then
    return {0, v, redis.call('PTTL', KEYS[1])}
  end
end
local t = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. t, 'PX', ARGV[2])
return {1, t}
`

// renewScript extends the lease if it is still ours and not revoked. KEYS: lease, fence.
// ARGV: our value, TTL in ms, our token. It returns 1 when extended, 0 when the key is gone,
// {value} when another holder has it, and {'revoked', newest} when a newer token was issued
// while the key still names us (an operator's INCR on the fence key revokes a lease).
const renewScript = `
local v = redis.call('GET', KEYS[1])
if v == false then return 0 end
if v ~= ARGV[1] then return {v} end
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
if newest > tonumber(ARGV[3]) then return {'revoked', newest} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`

// releaseScript deletes the lease key if it is still ours. KEYS: lease. ARGV: our value.
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// guard is the fencing check shared by saveScript and clearScript. KEYS[4], KEYS[5]: lease,
// fence. ARGV[1]: 'L' for a store that holds a lease, 'U' for one that does not; ARGV[2], ARGV[3]:
// the lease's value and token. A leased call is refused with 'LOST' when the lease key is not
// ours and with 'STALE' when a newer token was issued; an unleased one with 'HELD' while anyone
// holds the lease.
const guard = `
local lease = redis.call('GET', KEYS[4])
if ARGV[1] == 'L' then
  if lease ~= ARGV[2] then return {'LOST', lease or ''} end
  local newest = tonumber(redis.call('GET', KEYS[5]) or '0')
  if newest > tonumber(ARGV[3]) then return {'STALE', tostring(newest)} end
elseif lease then
  return {'HELD', lease}
end
`

// saveScript writes a session. KEYS: session (hash), contacts, ids, lease, fence. ARGV[1..3]:
// see guard; ARGV[4]: the session's JSON without contacts and IDs; then for the contacts
// (ARGV[5..7]) and the IDs (ARGV[8..10]) each an op, a generation and a JSON value:
//
//	'set'  write the value, under the new generation;
//	'keep' leave the key as it is: refused with 'BOOK' unless the hash records that generation,
//	       so a part is skipped only when Redis holds exactly what this store wrote last;
//	'del'  delete the key (the part is empty).
//
// It returns {'OK'} or the refusal.
const saveScript = guard + `
if ARGV[5] == 'keep' and redis.call('HGET', KEYS[1], 'contacts') ~= ARGV[6] then return {'BOOK'} end
if ARGV[8] == 'keep' and redis.call('HGET', KEYS[1], 'ids') ~= ARGV[9] then return {'BOOK'} end
if ARGV[5] == 'set' then redis.call('SET', KEYS[2], ARGV[7]) elseif ARGV[5] == 'del' then redis.call('DEL', KEYS[2]) end
if ARGV[8] == 'set' then redis.call('SET', KEYS[3], ARGV[10]) elseif ARGV[8] == 'del' then redis.call('DEL', KEYS[3]) end
redis.call('HSET', KEYS[1], 'v', '1', 'session', ARGV[4], 'contacts', ARGV[6], 'ids', ARGV[9], 'token', ARGV[3])
return {'OK'}
`

// clearScript deletes the session, contacts and IDs, keeping the lease and the fence counter.
// KEYS and ARGV[1..3] as for saveScript.
const clearScript = guard + `
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {'OK'}
`
