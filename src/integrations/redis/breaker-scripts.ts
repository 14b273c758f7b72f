import { LuaScript } from './client.js';

/*
 * The shared breaker's state lives in two hashes (both keys carry the same
 * Cluster hash tag):
 *
 *   KEYS[1] state:  st  'c' closed | 'o' open | 'h' halfOpen | 'i' isolated
 *                   g   generation: changes on every transition; outcomes are
 *                       counted only under the generation that admitted them
 *                   u   open until (ms, Redis clock)
 *                   k   opens since the breaker last closed (for a growing openFor)
 *                   p   half-open probes handed out and not given back
 *                   pc pf pw  probes settled, failed, slow in this round
 *                   hs  when the half-open round began
 *                   or oc of os  why and over what the breaker last opened
 *                       (reason code, calls, failures, slow calls)
 *                   cr  why it last closed (1 probes, 2 reset, 3 release)
 *   KEYS[2] window: n f s cf (calls, failures, slow calls, failures in a row),
 *                   r (count window: the last outcomes as a string), tb and
 *                   n<i> f<i> s<i> (time window buckets). Deleted on every transition.
 *
 * Every script answers { state 0..3, generation, ms until a probe may go,
 * opens, calls, failures, slow calls, probe granted 0|1, probes out,
 * failures in a row, open reason, open calls, open failures, open slow calls,
 * close reason }. While half-open, calls/failures/slow are the settled probes.
 */

const PRELUDE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'st', 'g', 'u', 'k', 'p', 'pc', 'pf', 'pw', 'hs', 'or', 'oc', 'of', 'os', 'cr')
local st = h[1] or 'c'
local g = tonumber(h[2]) or now
local u = tonumber(h[3]) or 0
local k = tonumber(h[4]) or 0
local p = tonumber(h[5]) or 0
local pc = tonumber(h[6]) or 0
local pf = tonumber(h[7]) or 0
local pw = tonumber(h[8]) or 0
local hs = tonumber(h[9]) or 0
local ore = tonumber(h[10]) or 0
local oc = tonumber(h[11]) or 0
local of = tonumber(h[12]) or 0
local osl = tonumber(h[13]) or 0
local cr = tonumber(h[14]) or 0
local w = redis.call('HMGET', KEYS[2], 'n', 'f', 's', 'cf')
local n = tonumber(w[1]) or 0
local f = tonumber(w[2]) or 0
local s = tonumber(w[3]) or 0
local cf = tonumber(w[4]) or 0
local changed = not h[1]
local function transition(to)
  st = to
  g = g + 1
  p = 0
  pc = 0
  pf = 0
  pw = 0
  redis.call('DEL', KEYS[2])
  n, f, s, cf = 0, 0, 0, 0
  changed = true
end
local function trip(reason, calls, failures, slow, ms)
  ore, oc, of, osl = reason, calls, failures, slow
  transition('o')
  k = k + 1
  u = now + ms
end
local function close(reason)
  transition('c')
  k = 0
  cr = reason
end
local function finish(ttl, granted)
  if changed then
    redis.call('HSET', KEYS[1], 'st', st, 'g', g, 'u', u, 'k', k, 'p', p, 'pc', pc, 'pf', pf, 'pw', pw,
      'hs', hs, 'or', ore, 'oc', oc, 'of', of, 'os', osl, 'cr', cr)
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
  local code = 0
  if st == 'o' then code = 1 elseif st == 'h' then code = 2 elseif st == 'i' then code = 3 end
  local left = 0
  if st == 'o' and u > now then left = u - now end
  if st == 'h' then n, f, s, cf = pc, pf, pw, 0 end
  return {code, g, left, k, n, f, s, granted, p, cf, ore, oc, of, osl, cr}
end
`;

/**
 * Flushes a batch of outcomes and reads the state.
 * ARGV: 1 generation of the outcomes, 2 outcomes ('0' ok, '1' failed, '2' slow ok, '3' slow failed),
 * 3 window type 'c' | 't', 4 window size (calls) or duration (ms), 5 buckets, 6 minimumCalls,
 * 7 failureRate (> 1: off), 8 slowCallRate (> 1: off), 9 consecutiveFailures (0: off),
 * 10 openFor ms for the next open, 11 state ttl ms.
 * Open reasons: 1 consecutiveFailures, 2 failureRate, 3 slowCallRate, 4 halfOpen.
 */
export const SYNC = /* @__PURE__ */ new LuaScript(
  PRELUDE,
  `
local outcomes = ARGV[2]
if st == 'c' then
  local wtype = ARGV[3]
  local size = tonumber(ARGV[4])
  local more = redis.call('HMGET', KEYS[2], 'r', 'tb')
  local buckets, cur, tb, bn, bf, bs = 0, 0, 0, 0, 0, 0
  if wtype == 't' then
    -- Drop the buckets that slid out of the window, even on a read.
    buckets = tonumber(ARGV[5])
    local width = math.max(1, math.floor(size / buckets))
    cur = math.floor(now / width)
    tb = tonumber(more[2]) or cur
    local oldest = cur - buckets + 1
    if tb < oldest then
      for i = tb, math.min(oldest - 1, tb + buckets - 1) do
        local b = redis.call('HMGET', KEYS[2], 'n' .. i, 'f' .. i, 's' .. i)
        n = n - (tonumber(b[1]) or 0)
        f = f - (tonumber(b[2]) or 0)
        s = s - (tonumber(b[3]) or 0)
        redis.call('HDEL', KEYS[2], 'n' .. i, 'f' .. i, 's' .. i)
      end
      tb = oldest
      redis.call('HSET', KEYS[2], 'n', n, 'f', f, 's', s, 'tb', tb)
      redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[11]))
    end
  end
  if tonumber(ARGV[1]) == g and #outcomes > 0 then
    local minCalls = tonumber(ARGV[6])
    local failureRate = tonumber(ARGV[7])
    local slowRate = tonumber(ARGV[8])
    local consecutive = tonumber(ARGV[9])
    local ring = more[1] or ''
    local all = ring
    if wtype == 'c' then all = ring .. outcomes end
    local opened = false
    for i = 1, #outcomes do
      local o = string.byte(outcomes, i) - 48
      local failed = o % 2 == 1
      n = n + 1
      bn = bn + 1
      if failed then f = f + 1; bf = bf + 1; cf = cf + 1 else cf = 0 end
      if o >= 2 then s = s + 1; bs = bs + 1 end
      if wtype == 'c' then
        local drop = #ring + i - size
        if drop >= 1 then
          local d = string.byte(all, drop) - 48
          n = n - 1
          if d % 2 == 1 then f = f - 1 end
          if d >= 2 then s = s - 1 end
        end
      end
      local reason = 0
      if consecutive > 0 and cf >= consecutive then reason = 1
      elseif n >= minCalls and f >= failureRate * n then reason = 2
      elseif n >= minCalls and s >= slowRate * n then reason = 3 end
      if reason > 0 then
        trip(reason, n, f, s, tonumber(ARGV[10]))
        opened = true
        break
      end
    end
    if not opened then
      if wtype == 'c' then
        if #all > size then all = string.sub(all, -size) end
        redis.call('HSET', KEYS[2], 'n', n, 'f', f, 's', s, 'cf', cf, 'r', all)
      else
        redis.call('HSET', KEYS[2], 'n', n, 'f', f, 's', s, 'cf', cf, 'tb', tb)
        redis.call('HINCRBY', KEYS[2], 'n' .. cur, bn)
        if bf > 0 then redis.call('HINCRBY', KEYS[2], 'f' .. cur, bf) end
        if bs > 0 then redis.call('HINCRBY', KEYS[2], 's' .. cur, bs) end
      end
      redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[11]))
      -- Refresh the state's expiry too, so a busy breaker never forgets its generation.
      changed = true
    end
  end
end
return finish(tonumber(ARGV[11]), 0)
`,
);

/**
 * Asks for a half-open probe. Moves an open breaker whose time is up to
 * half-open, and starts a new round when the round's probes were all handed
 * out `probeTimeout` ms ago without a verdict (their holders died).
 * ARGV: 1 halfOpenCalls, 2 probeTimeout ms, 3 state ttl ms.
 */
export const PROBE = /* @__PURE__ */ new LuaScript(
  PRELUDE,
  `
local calls = tonumber(ARGV[1])
if st == 'o' and now >= u then
  transition('h')
  hs = now
elseif st == 'h' and p >= calls and now - hs >= tonumber(ARGV[2]) then
  transition('h')
  hs = now
end
local granted = 0
if st == 'h' and p < calls then
  p = p + 1
  granted = 1
  changed = true
end
return finish(tonumber(ARGV[3]), granted)
`,
);

/**
 * Reports a probe's verdict, counted only in the half-open round that handed
 * it out. The round reopens once \`failLimit\` probes failed (or \`slowLimit\`
 * were slow), and closes as soon as the probes left could no longer reach
 * either limit. A cancelled probe (the caller left, or a layer inside refused
 * the call) hands its permit back.
 * ARGV: 1 generation, 2 verdict (0 ok, 1 failed, 2 slow ok, 3 slow failed, 4 cancelled),
 * 3 halfOpenCalls, 4 failLimit, 5 slowLimit, 6 openFor ms, 7 state ttl ms.
 */
export const PROBE_RESULT = /* @__PURE__ */ new LuaScript(
  PRELUDE,
  `
if st == 'h' and g == tonumber(ARGV[1]) then
  local verdict = tonumber(ARGV[2])
  if verdict == 4 then
    if p > 0 then p = p - 1 end
    changed = true
  else
    local calls = tonumber(ARGV[3])
    local failLimit = tonumber(ARGV[4])
    local slowLimit = tonumber(ARGV[5])
    pc = pc + 1
    if verdict % 2 == 1 then pf = pf + 1 end
    if verdict >= 2 then pw = pw + 1 end
    changed = true
    if pf >= failLimit or pw >= slowLimit then
      trip(4, pc, pf, pw, tonumber(ARGV[6]))
    elseif pf + calls - pc < failLimit and pw + calls - pc < slowLimit then
      close(1)
    end
  end
end
return finish(tonumber(ARGV[7]), 0)
`,
);

/**
 * Forces a state for the whole fleet. ARGV: 1 'i' isolate | 'c' reset (closes
 * and forgets the open history; an isolated breaker only forgets) | 'r' release
 * an isolation (closes only if still isolated), 2 state ttl ms.
 */
export const FORCE = /* @__PURE__ */ new LuaScript(
  PRELUDE,
  `
local target = ARGV[1]
if target == 'i' then
  if st ~= 'i' then transition('i') end
elseif target == 'c' then
  if st == 'i' then
    k = 0
    changed = true
  elseif st ~= 'c' then
    close(2)
  else
    -- Closed already: a reset still forgets the counts.
    transition('c')
    k = 0
  end
elseif target == 'r' and st == 'i' then
  close(3)
end
return finish(tonumber(ARGV[2]), 0)
`,
);

/** Indexes in a script's answer. @internal */
export const R_STATE = 0;
export const R_GEN = 1;
export const R_LEFT = 2;
export const R_OPENS = 3;
export const R_CALLS = 4;
export const R_FAILURES = 5;
export const R_SLOW = 6;
export const R_GRANTED = 7;
export const R_PROBES = 8;
export const R_RUN = 9;
export const R_OPEN_REASON = 10;
export const R_OPEN_CALLS = 11;
export const R_OPEN_FAILURES = 12;
export const R_OPEN_SLOW = 13;
export const R_CLOSE_REASON = 14;
