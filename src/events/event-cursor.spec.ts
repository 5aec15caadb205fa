import { decodeEventCursor, encodeEventCursor, FEED_START } from './event-cursor';

describe('event feed cursor', () => {
  it.each([
    FEED_START,
    { xid: '1', seq: '1' },
    { xid: '18446744073709551615', seq: '9223372036854775807' },
    { xid: '4294967296', seq: '123456789' },
  ])('round-trips %j', (position) => {
    expect(decodeEventCursor(encodeEventCursor(position))).toEqual(position);
  });

  it.each([
    '',
    'not a cursor',
    Buffer.from('p1').toString('base64url'),
    Buffer.from('p-1.2').toString('base64url'),
    Buffer.from('p1.2.3').toString('base64url'),
    Buffer.from('p18446744073709551616.1').toString('base64url'),
    Buffer.from('p1.9223372036854775808').toString('base64url'),
    'A'.repeat(65),
  ])('refuses %j with a 400 naming the field', (cursor) => {
    expect(() => decodeEventCursor(cursor)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
