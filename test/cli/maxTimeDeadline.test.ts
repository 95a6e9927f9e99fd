import { MAX_TIME_TEST_VARIABLE, startMaxTimeDeadline } from '../../src/cli/maxTimeDeadline';

test('wall time: the deadline falls after the duration, whatever the work done; clear() cancels it', async () => {
  const started = Date.now();
  let reachedAt = 0;
  const reached = new Promise<void>((resolve) => {
    const deadline = startMaxTimeDeadline(50, () => ((reachedAt = Date.now()), resolve()), {});
    deadline.requestsDone(1000);
  });
  expect(reachedAt).toBe(0);
  await reached;
  expect(reachedAt - started).toBeGreaterThanOrEqual(45); // timers may fire a little early on some platforms
  let cancelled = false;
  startMaxTimeDeadline(20, () => (cancelled = true), {}).clear();
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(cancelled).toBe(false);
});

test(`${MAX_TIME_TEST_VARIABLE}=N: the deadline falls once N requests are done, not before; without --max-time nothing falls`, () => {
  let reached = 0;
  const deadline = startMaxTimeDeadline(1, () => reached++, { [MAX_TIME_TEST_VARIABLE]: '3' });
  deadline.requestsDone(1);
  deadline.requestsDone(2);
  expect(reached).toBe(0);
  deadline.requestsDone(3);
  expect(reached).toBe(1);
  const none = startMaxTimeDeadline(undefined, () => reached++, { [MAX_TIME_TEST_VARIABLE]: '1' });
  none.requestsDone(5);
  expect(reached).toBe(1);
});
