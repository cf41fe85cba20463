/**
 * A WebSocket client written on a bare TCP socket, for what a well-behaved client never does:
 * send any Origin or Host, fragment a message forever, never read, never answer a ping.
 */

export interface RawHandshake {
  readonly status: number;
  readonly headers: string;
}

export class RawWebSocket {
  readonly conn: Deno.TcpConn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects and sends the upgrade request; resolves with the client and the HTTP status. */
  static async connect(
    url: string,
    headers: Record<string, string> = {},
  ): Promise<{ socket: RawWebSocket; handshake: RawHandshake }> {
    const target = new URL(url);
    const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
    const socket = new RawWebSocket(conn);
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${target.pathname} HTTP/1.1`,
      ...Object.entries({
        host: target.host,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": key,
        "sec-websocket-version": "13",
        ...headers,
      }).map(([name, value]) => `${name}: ${value}`),
      "",
      "",
    ];
    await writeAll(conn, new TextEncoder().encode(lines.join("\r\n")));
    const head = await socket.#readUntilBlankLine();
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
    return { socket, handshake: { status, headers: head } };
  }

  /** Sends one frame, masked as a client must; `fin: false` leaves the message unfinished. */
  async sendFrame(opcode: number, payload: Uint8Array, fin = true): Promise<void> {
    const length = payload.byteLength;
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = new Uint8Array(header + 4 + length);
    frame[0] = (fin ? 0x80 : 0) | opcode;
    if (length < 126) frame[1] = 0x80 | length;
    else if (length < 65536) {
      frame[1] = 0x80 | 126;
      new DataView(frame.buffer).setUint16(2, length);
    } else {
      frame[1] = 0x80 | 127;
      new DataView(frame.buffer).setBigUint64(2, BigInt(length));
    }
    const mask = crypto.getRandomValues(new Uint8Array(4));
    frame.set(mask, header);
    for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i % 4]!;
    await writeAll(this.conn, frame);
  }

  sendText(text: string): Promise<void> {
    return this.sendFrame(0x1, new TextEncoder().encode(text));
  }

  /** Reads the next frame from the server (unmasked); undefined when the connection ended. */
  async readFrame(): Promise<{ opcode: number; payload: Uint8Array } | undefined> {
    const head = await this.#read(2);
    if (!head) return undefined;
    let length = head[1]! & 0x7f;
    if (length === 126) {
      const ext = await this.#read(2);
      if (!ext) return undefined;
      length = new DataView(ext.buffer, ext.byteOffset).getUint16(0);
    } else if (length === 127) {
      const ext = await this.#read(8);
      if (!ext) return undefined;
      length = Number(new DataView(ext.buffer, ext.byteOffset).getBigUint64(0));
    }
    const payload = await this.#read(length);
    if (!payload) return undefined;
    return { opcode: head[0]! & 0x0f, payload };
  }

  /** Reads frames until a close frame; returns its code, or undefined if the TCP stream ended. */
  async readClose(): Promise<number | undefined> {
    while (true) {
      const frame = await this.readFrame();
      if (!frame) return undefined;
      if (frame.opcode === 0x8) {
        return frame.payload.byteLength >= 2
          ? new DataView(frame.payload.buffer, frame.payload.byteOffset).getUint16(0)
          : 1005;
      }
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed by the server
    }
  }

  async #read(n: number): Promise<Uint8Array | undefined> {
    while (this.#buffer.byteLength < n) {
      const chunk = new Uint8Array(65536);
      let read: number | null;
      try {
        read = await this.conn.read(chunk);
      } catch {
        return undefined;
      }
      if (read === null) return undefined;
      const merged = new Uint8Array(this.#buffer.byteLength + read);
      merged.set(this.#buffer);
      merged.set(chunk.subarray(0, read), this.#buffer.byteLength);
      this.#buffer = merged;
    }
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  async #readUntilBlankLine(): Promise<string> {
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const byte = await this.#read(1);
      if (!byte) break;
      text += String.fromCharCode(byte[0]!);
    }
    return text;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) written += await conn.write(bytes.subarray(written));
}

/** One HTTP/1.1 request with exactly the headers given (fetch would replace `Host`). */
export async function rawHttpStatus(url: string, headers: Record<string, string>): Promise<number> {
  const target = new URL(url);
  const conn = await Deno.connect({ hostname: target.hostname, port: Number(target.port) });
  try {
    const head = [
      `GET ${target.pathname} HTTP/1.1`,
      ...Object.entries({ host: target.host, connection: "close", ...headers }).map(
        ([name, value]) => `${name}: ${value}`,
      ),
      "",
      "",
    ].join("\r\n");
    await writeAll(conn, new TextEncoder().encode(head));
    const buffer = new Uint8Array(64);
    const read = await conn.read(buffer);
    const line = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1] ?? 0);
  } finally {
    conn.close();
  }
}
