// Preloaded (`node --import`) into every function process of the emulator stack. The functions
// framework listens on all interfaces and has no option for the host; the stack's functions are
// for this machine only, so a listen() given a port and no host gets 127.0.0.1.
import http from 'node:http';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function listenOnLoopback(...args) {
  const [port, host] = args;
  const portOnly =
    (typeof port === 'number' || /^\d+$/.test(String(port))) && typeof host !== 'string';
  if (portOnly) args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
