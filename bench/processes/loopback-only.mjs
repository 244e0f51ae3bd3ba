// Preloaded (`node --import`) into a third-party server whose CLI takes a port but no host
// (Portkey's gateway listens on every interface): binds it to 127.0.0.1 instead, and announces
// the address it got with the local stack's ready line, so `--port=0` can pick a free port.
import net from 'node:net';

const listen = net.Server.prototype.listen;
let announced = false;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  if (typeof args[0] === 'number' && (args[1] === undefined || typeof args[1] === 'function')) {
    if (args[1] === undefined) args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  } else if (typeof args[0] === 'object' && args[0] !== null && args[0].host === undefined && args[0].path === undefined) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  }
  this.once('listening', () => {
    const address = this.address();
    if (announced || typeof address !== 'object' || address === null) return;
    announced = true;
    process.stdout.write(`${JSON.stringify({ ready: true, url: `http://127.0.0.1:${address.port}` })}\n`);
  });
  return listen.apply(this, args);
};
