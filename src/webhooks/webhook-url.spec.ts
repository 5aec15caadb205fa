import { checkUrlShape, checkUrlTarget, isBlockedAddress } from './webhook-url';

describe('webhook URL policy', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a9fe:a9fe',
    'not an address',
  ])('blocks %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });

  const production = { httpsOnly: true, allowPrivateNetworks: false };
  const development = { httpsOnly: false, allowPrivateNetworks: false };

  it.each([
    ['http://hooks.example.com/x', production, 'url must use https'],
    ['ftp://hooks.example.com/x', development, 'url must use https or http'],
    ['https://user:pass@hooks.example.com/x', production, 'url must not carry credentials'],
    ['https://hooks.example.com/x#frag', production, 'url must not have a #fragment'],
    ['hooks.example.com/x', production, 'url must be an absolute URL such as https://hooks.example.com/wallet'],
    [`https://hooks.example.com/${'a'.repeat(2048)}`, production, 'url must be at most 2048 characters'],
  ])('refuses the shape of %s', (url, policy, reason) => {
    expect(checkUrlShape(url, policy)).toEqual({ ok: false, reason });
  });

  it('accepts http outside production', () => {
    expect(checkUrlShape('http://hooks.example.com/x', development).ok).toBe(true);
  });

  it('refuses a name that resolves to a private address, even beside a public one', async () => {
    const resolve = (async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.1.2.3', family: 4 },
    ]) as never;
    const verdict = await checkUrlTarget(new URL('https://rebind.example.com/'), production, resolve);
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining('10.1.2.3') });
  });

  it('refuses IP literals in private ranges, v4 and v6, without resolving', async () => {
    const resolve = (async () => {
      throw new Error('must not resolve');
    }) as never;
    expect((await checkUrlTarget(new URL('https://169.254.169.254/latest'), production, resolve)).ok).toBe(false);
    expect((await checkUrlTarget(new URL('https://[::1]:8443/'), production, resolve)).ok).toBe(false);
    expect((await checkUrlTarget(new URL('https://8.8.8.8/'), production, resolve)).ok).toBe(true);
  });

  it('refuses a host that does not resolve', async () => {
    const resolve = (async () => {
      throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    }) as never;
    expect(await checkUrlTarget(new URL('https://nowhere.invalid/'), production, resolve)).toEqual({
      ok: false,
      reason: 'url host nowhere.invalid does not resolve',
    });
  });

  it('lets everything through with WEBHOOK_ALLOW_PRIVATE_NETWORKS', async () => {
    const verdict = await checkUrlTarget(new URL('http://127.0.0.1:9/'), { httpsOnly: false, allowPrivateNetworks: true });
    expect(verdict.ok).toBe(true);
  });
});
