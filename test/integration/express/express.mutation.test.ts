import type { Socket } from 'node:net';
import express from 'express';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { bulkhead, retry, setListenerErrorHandler, timeout } from '../../../src/index.js';
import { healthHandler, protect } from '../../../src/integrations/express/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { gate, get, serverStarter, until } from '../../integrations/server/helpers.js';

const listen = serverStarter();

describe('health.ts', () => {
  it('names options in the message when they are not an object', () => {
    expect(() => healthHandler([], 5 as never)).toThrow(
      new TypeError('healthHandler: options must be an object, got 5'),
    );
  });
});

describe('protect.ts', () => {
  it('names the policy and the options in its validation messages', () => {
    expect(() => protect({ execute() {} } as never)).toThrow(
      new TypeError('protect: policy must be a policy, got {}'),
    );
    expect(() => protect(retry())).toThrow(
      /^protect: policy contains a retry policy \("retry"\), which would run/,
    );
    expect(() => protect(bulkhead(1), [] as never)).toThrow(
      new TypeError('protect: options must be an object, got an array'),
    );
  });

  it('writes nothing when an async onReject fails after the client has gone, and reports its error', async () => {
    const reported: unknown[] = [];
    const previous = setListenerErrorHandler((error) => reported.push(error));
    onTestFinished(() => {
      setListenerErrorHandler(previous);
    });
    const clock = new VirtualClock();
    const rejecting = gate();
    const seen: { res?: express.Response; closed: boolean; failedLate: boolean } = {
      closed: false,
      failedLate: false,
    };
    let entered = false;
    const app = express();
    app.use(
      protect(timeout({ ms: 1_000, clock }), {
        onReject: async (_error, _req, res) => {
          seen.res = res;
          res.once('close', () => {
            seen.closed = true;
          });
          await rejecting.opened;
          seen.failedLate = true;
          throw new Error('onReject failed late');
        },
      }),
    );
    app.get('/never', () => {
      entered = true;
    });
    const url = await listen(app);
    const client = new AbortController();
    const answer = get(`${url}/never`, { signal: client.signal });
    await until(() => entered, 'the handler to run');
    await clock.advance(1_000);
    await until(() => seen.res !== undefined, 'onReject to be called');
    client.abort();
    await until(() => seen.closed, 'the response to close');
    rejecting.open();
    await until(() => seen.failedLate, 'onReject to fail');
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(await answer).toMatchObject({ status: 0, body: 'AbortError' });
    // No error reply went to a client that was gone.
    expect(seen.res!.statusCode).toBe(200);
    expect(seen.res!.getHeader('content-type')).toBeUndefined();
    // Too late for Express's error chain: the error goes where a listener's would.
    expect(reported).toEqual([new Error('onReject failed late')]);
  });

  it('prints such an error by default, saying what failed, and answers a client still there with a plain 500', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => {});
    onTestFinished(() => {
      printed.mockRestore();
    });
    const clock = new VirtualClock();
    let entered = false;
    const app = express();
    app.use(
      protect(timeout({ ms: 1_000, clock }), {
        onReject: async () => {
          throw new Error('onReject broke');
        },
      }),
    );
    app.get('/slow', () => {
      entered = true;
    });
    const url = await listen(app);
    const answer = get(`${url}/slow`);
    await until(() => entered, 'the handler to run');
    await clock.advance(1_000);
    expect(await answer).toMatchObject({ status: 500, body: '{"error":"ERR_INTERNAL"}' });
    expect(printed.mock.calls).toEqual([
      ['bulwark: protect: an error after the request reached its handler', new Error('onReject broke')],
    ]);
  });

  it('keeps the connection of a response the handler ended in its abort listener', async () => {
    const clock = new VirtualClock();
    let socket: Socket | undefined;
    const app = express();
    app.use(protect(timeout({ ms: 1_000, clock })));
    app.get('/polite', (req, res) => {
      socket = req.socket;
      res.locals.signal.addEventListener('abort', () => {
        res.status(504).send('gave up politely');
      });
    });
    const url = await listen(app);
    const answer = get(`${url}/polite`);
    await until(() => socket !== undefined, 'the handler to run');
    await clock.advance(1_000);
    expect(await answer).toMatchObject({ status: 504, body: 'gave up politely' });
    // The response stands as the handler ended it: it is not cut, and the keep-alive connection stays.
    expect(socket!.destroyed).toBe(false);
  });
});
