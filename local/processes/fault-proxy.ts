import { startFaultProxyControl } from '../fault-proxy/control-server';
import { startFaultProxy } from '../fault-proxy/fault-proxy';
import { announceReady, closeOnSignals, exitWithOneLine } from './ready-line';

// A fault-injecting TCP proxy in front of another local server, for tests in other processes.
// MODELGATE_FAULT_PROXY_TARGET is the target's host:port; MODELGATE_FAULT_PROXY_PORT the proxy's
// port (0: any free one). The ready line's URL is the control API's (GET /_stats names the proxy's URL).
try {
  const target = /^(?<host>.+):(?<port>\d+)$/.exec(process.env.MODELGATE_FAULT_PROXY_TARGET ?? '')?.groups;
  if (target?.host === undefined || target.port === undefined) throw new Error('MODELGATE_FAULT_PROXY_TARGET must be host:port');
  const proxy = await startFaultProxy({
    port: Number(process.env.MODELGATE_FAULT_PROXY_PORT ?? 0),
    target: { host: target.host, port: Number(target.port) },
  });
  const control = await startFaultProxyControl(proxy, { port: Number(process.env.MODELGATE_FAULT_PROXY_CONTROL_PORT ?? 0) });
  closeOnSignals(async () => {
    await control.close();
    await proxy.close();
  });
  announceReady(control.url);
} catch (error) {
  exitWithOneLine(error);
}
