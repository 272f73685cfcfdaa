import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ephemeralPorts, freePort } from './net.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-net-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('freePort', () => {
  it('reads the kernel ephemeral range, and null from a file that is not one', () => {
    const good = path.join(dir, 'range');
    fs.writeFileSync(good, '32768\t60999\n');
    expect(ephemeralPorts(good)).toEqual([32768, 60999]);
    const bad = path.join(dir, 'bad');
    fs.writeFileSync(bad, 'sixty\n');
    expect(ephemeralPorts(bad)).toBeNull();
    expect(ephemeralPorts(path.join(dir, 'missing'))).toBeNull();
  });

  it('picks ports below the ephemeral range that can be listened on, so the kernel never hands them out meanwhile', async () => {
    const range: [number, number] = [32768, 60999];
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort('127.0.0.1', { range })));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(32768);
    }
    // Each is free: something can listen on it now.
    const server = await listenOn(ports[0] as number);
    server.close();
  });

  it('skips a port in use, and lets the kernel pick where the range leaves no room below it', async () => {
    const taken = await listenOn(await freePort());
    try {
      const port = (taken.address() as net.AddressInfo).port;
      expect(port).toBeLessThan(32768);
      // The first pick is the taken port: the next one comes back.
      const picks = [port - 10_000, port - 10_000 + 1];
      const next = await freePort('127.0.0.1', { range: [32768, 60999], random: () => picks.shift() ?? 0 });
      expect(next).toBe(port + 1);
      // No room below the range (under 1,000 ports): the kernel's choice, inside the range.
      const kernel = await freePort('127.0.0.1', { range: [10_500, 60999] });
      const [low, high] = ephemeralPorts() ?? [1, 65535];
      expect(kernel).toBeGreaterThanOrEqual(low);
      expect(kernel).toBeLessThanOrEqual(high);
    } finally {
      taken.close();
    }
  });
});
