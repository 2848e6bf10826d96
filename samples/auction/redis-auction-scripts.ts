// The Lua scripts that make the Redis store's bids and closes atomic across servers. Redis runs
// a script alone, start to end, so nothing can change a lot between its checks and its writes.
// Time comes from the Redis server (TIME), one clock for every instance.
// Lot hashes hold: id title seller startingPrice increment endsAt price leader seq closed.

const now = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: lot hash, bids list, bid-ids hash, open zset. ARGV: bidder, amount, bidId, antiSnipingMs,
 * confirmed (1 or 0), confirmation factor.
 * Returns {status, reason, bid JSON, previous leader, extended, lot hash fields...}; status is
 * accepted, duplicate or refused.
 */
export const bidScript = `
local lotKey, bidsKey, idsKey, openKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local bidder, amount, bidId, window = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local confirmed, factor = ARGV[5] == '1', tonumber(ARGV[6])
if redis.call('EXISTS', lotKey) == 0 then return {'refused', 'unknown-lot'} end
local seen = redis.call('HGET', idsKey, bidder .. ' ' .. bidId)
if seen then
  return {'duplicate', '', redis.call('LINDEX', bidsKey, tonumber(seen) - 1), '', '0', unpack(redis.call('HGETALL', lotKey))}
end
${now}
local f = redis.call('HMGET', lotKey, 'id', 'endsAt', 'price', 'leader', 'seq', 'closed', 'seller', 'increment', 'startingPrice')
local id, endsAt, price, leader, seq = f[1], tonumber(f[2]), tonumber(f[3]), f[4], tonumber(f[5])
local function refuse(reason) return {'refused', reason, '', '', '0', unpack(redis.call('HGETALL', lotKey))} end
if f[6] == '1' or now >= endsAt then return refuse('closed') end
if f[7] == bidder then return refuse('own-lot') end
if leader == bidder then return refuse('leading') end
local minimum = tonumber(f[9])
if seq > 0 then minimum = price + tonumber(f[8]) end
if amount < minimum then return refuse('too-low') end
if not confirmed and amount > price * factor then return refuse('unconfirmed') end
seq = seq + 1
local extended = '0'
if endsAt - now < window then
  endsAt = now + window
  extended = '1'
  redis.call('ZADD', openKey, string.format('%.0f', endsAt), id)
end
local bid = '{"lotId":' .. cjson.encode(id) .. ',"seq":' .. seq .. ',"bidder":' .. cjson.encode(bidder) ..
  ',"amount":' .. string.format('%.0f', amount) .. ',"bidId":' .. cjson.encode(bidId) .. ',"at":' .. string.format('%.0f', now) .. '}'
redis.call('HSET', lotKey, 'price', string.format('%.0f', amount), 'leader', bidder, 'seq', seq, 'endsAt', string.format('%.0f', endsAt))
redis.call('RPUSH', bidsKey, bid)
redis.call('HSET', idsKey, bidder .. ' ' .. bidId, seq)
return {'accepted', '', bid, leader, extended, unpack(redis.call('HGETALL', lotKey))}
`;

/** KEYS: lot hash, open zset. Closes the lot if its end has passed; returns its fields, or nothing if another caller closed it or its end moved. */
export const closeScript = `
${now}
local f = redis.call('HMGET', KEYS[1], 'id', 'endsAt', 'closed')
if not f[1] or f[3] == '1' or tonumber(f[2]) > now then return {} end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('ZREM', KEYS[2], f[1])
return redis.call('HGETALL', KEYS[1])
`;
