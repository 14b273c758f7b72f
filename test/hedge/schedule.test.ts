import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { HedgeSchedule, type ScheduleEntry } from '../../src/hedge/schedule.js';
import { VirtualClock } from '../../src/testing/index.js';

function entry(deadline: number, fired: string[], name = String(deadline)): ScheduleEntry {
  return {
    deadline,
    prev: undefined,
    next: undefined,
    queued: false,
    expire: () => fired.push(`${name}@`),
  };
}

/** Records the time each entry expires at. */
function at(clock: VirtualClock, fired: string[], deadline: number, name = String(deadline)): ScheduleEntry {
  const e = entry(deadline, fired, name);
  e.expire = () => fired.push(`${name}@${clock.now()}`);
  return e;
}

describe('HedgeSchedule', () => {
  it('expires entries at their deadlines, in deadline order, with one timer', async () => {
    const clock = new VirtualClock();
    const schedule = new HedgeSchedule(clock);
    const fired: string[] = [];
    schedule.add(at(clock, fired, 100));
    schedule.add(at(clock, fired, 200));
    schedule.add(at(clock, fired, 200, '200b'));
    expect(clock.pending).toBe(1);
    await clock.advance(300);
    expect(fired).toEqual(['100@100', '200@200', '200b@200']);
  });

  it('an earlier deadline added later (a quantile delay that shrank) re-arms the timer', async () => {
    const clock = new VirtualClock();
    const schedule = new HedgeSchedule(clock);
    const fired: string[] = [];
    schedule.add(at(clock, fired, 500));
    schedule.add(at(clock, fired, 300));
    schedule.add(at(clock, fired, 50));
    schedule.add(at(clock, fired, 400));
    expect(clock.pending).toBe(1);
    await clock.advance(1_000);
    expect(fired).toEqual(['50@50', '300@300', '400@400', '500@500']);
  });

  it('removed entries never expire; removing twice is harmless', async () => {
    const clock = new VirtualClock();
    const schedule = new HedgeSchedule(clock);
    const fired: string[] = [];
    const a = at(clock, fired, 100);
    const b = at(clock, fired, 200);
    const c = at(clock, fired, 300);
    schedule.add(a);
    schedule.add(b);
    schedule.add(c);
    schedule.remove(b);
    schedule.remove(a);
    schedule.remove(a);
    await clock.advance(1_000);
    expect(fired).toEqual(['300@300']);
    expect(clock.pending).toBe(0);
  });

  it('an entry may re-add itself when it expires (the next hedge of the same call)', async () => {
    const clock = new VirtualClock();
    const schedule = new HedgeSchedule(clock);
    const fired: number[] = [];
    const e = entry(100, []);
    e.expire = () => {
      fired.push(clock.now());
      if (fired.length < 3) {
        e.deadline = clock.now() + 100;
        schedule.add(e);
      }
    };
    schedule.add(e);
    await clock.advance(1_000);
    expect(fired).toEqual([100, 200, 300]);
  });

  it('a timer that fires early still expires entries due by its own deadline', () => {
    let now = 0;
    let callback: (() => void) | undefined;
    const clock: Clock = {
      now: () => now,
      setTimeout: (cb) => {
        callback = cb;
        return 1;
      },
      clearTimeout: () => {},
    };
    const schedule = new HedgeSchedule(clock);
    const fired: string[] = [];
    schedule.add(entry(100, fired));
    now = 99; // the platform fired 1 ms early
    callback!();
    expect(fired).toEqual(['100@']);
  });

  it('unrefs its timer when the last entry leaves, and refs it again when one arrives', () => {
    const calls: string[] = [];
    const handle = { ref: () => calls.push('ref'), unref: () => calls.push('unref') };
    const clock: Clock = { now: () => 0, setTimeout: () => handle, clearTimeout: () => {} };
    const schedule = new HedgeSchedule(clock);
    const fired: string[] = [];
    const a = entry(100, fired);
    schedule.add(a);
    schedule.remove(a);
    expect(calls).toEqual(['unref']);
    schedule.add(entry(150, fired));
    expect(calls).toEqual(['unref', 'ref']);
  });
});
