/**
 * A loopback stand-in for the Hugging Face hub: serves model folders at `/{org}/{name}/resolve/{revision}/{file}`
 * (with the `Range: bytes=0-0` probes transformers.js makes), logs every request, and injects faults:
 * any HTTP status for chosen files, or a connection destroyed half-way through a chosen file's body.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface HubRequestLog {
  method: string;
  model: string;
  revision: string;
  file: string;
  range: boolean;
}

export class HubServer {
  readonly requests: HubRequestLog[] = [];
  /** Files ("org/name:onnx/model.onnx_data") whose body is cut off after half of it, until removed from the set. */
  readonly drop = new Set<string>();
  /** Files ("org/name:config.json") answered with this HTTP status instead. */
  readonly status = new Map<string, number>();
  private readonly repos = new Map<string, string>();
  private readonly server: http.Server;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  static async start(): Promise<HubServer> {
    const hub = new HubServer();
    await new Promise<void>((resolve) => hub.server.listen(0, '127.0.0.1', resolve));
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serves `dir` as `model` at `revision`. */
  serve(model: string, dir: string, revision = 'main'): void {
    this.repos.set(`${model}@${revision}`, dir);
  }

  /** Full (non-probe) GET requests for one model's files, in order. */
  downloads(model: string): string[] {
    return this.requests.filter((request) => request.model === model && !request.range).map((request) => request.file);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    if (!match) {
      res.writeHead(400).end('bad path');
      return;
    }
    const [model, revision, file] = [match[1], decodeURIComponent(match[2]), decodeURIComponent(match[3])];
    const range = req.headers.range !== undefined;
    this.requests.push({ method: req.method ?? 'GET', model, revision, file, range });
    const forced = this.status.get(`${model}:${file}`);
    if (forced !== undefined) {
      res.writeHead(forced, { 'content-type': 'text/plain' }).end('forced status');
      return;
    }
    const root = this.repos.get(`${model}@${revision}`);
    const filePath = root ? path.join(root, file) : '';
    if (!root || !fs.existsSync(filePath) || !fs.statSync(filePath).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const body = fs.readFileSync(filePath);
    if (range) {
      res.writeHead(206, { 'content-length': 1, 'content-range': `bytes 0-0/${body.length}` }).end(body.subarray(0, 1));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    if (this.drop.has(`${model}:${file}`)) {
      // headers promise the whole file; the socket dies after half of it
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.end(body);
  }
}
