import { Consumer } from '@platformatic/kafka';

const brokers = ['127.0.0.1:19092'];
for (const [mode, wait, hwm] of [
  ['earliest', 100, undefined],
  ['committed', 500, undefined],
  ['committed', 100, undefined],
  ['earliest', 500, undefined],
  ['committed', 500, 2000],
  ['earliest', 100, 2000],
]) {
  const consumer = new Consumer({
    clientId: 'x',
    groupId: `ff-${Math.random()}`,
    bootstrapBrokers: brokers,
    autocommit: false,
    maxWaitTime: wait,
    ...(hwm ? { highWaterMark: hwm } : {}),
  });
  const t0 = performance.now();
  const stream = await consumer.consume({
    topics: ['kp1'],
    mode,
    fallbackMode: 'earliest',
    autocommit: false,
    maxWaitTime: wait,
  });
  const t1 = performance.now();
  let count = 0;
  let first = 0;
  await new Promise((r) =>
    stream.on('data', () => {
      if (count++ === 0) first = performance.now();
      if (count === 20000) r();
    }),
  );
  console.log(
    mode,
    wait,
    hwm,
    'consume() resolved',
    (t1 - t0).toFixed(0),
    'first',
    (first - t0).toFixed(0),
    '20k at',
    (performance.now() - t0).toFixed(0),
  );
  await stream.close();
  await consumer.close(true);
}
