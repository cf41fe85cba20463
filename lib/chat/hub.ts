/**
 * Every open chat socket of this process: admission before the upgrade (sockets in total and
 * per client address), and shutdown that ends every answer and closes every socket.
 */
import { AnswerRegistry } from "./answers.ts";
import { ChatConnection, type ConnectionDeps } from "./connection.ts";

export type Admission =
  | { readonly ok: true; readonly client: string }
  | {
    readonly ok: false;
    readonly reason: "server_full" | "client_full";
    readonly message: string;
  };

export class ChatHub {
  readonly #deps: ConnectionDeps;
  readonly #connections = new Set<ChatConnection>();
  readonly #perClient = new Map<string, number>();
  #shuttingDown = false;

  constructor(deps: Omit<ConnectionDeps, "answers">) {
    this.#deps = {
      ...deps,
      answers: new AnswerRegistry({
        backend: deps.backend,
        logger: deps.logger,
        flushIntervalMs: deps.config.flushIntervalMs,
      }),
    };
  }

  /** Every answer streaming in this process. */
  get answers(): AnswerRegistry {
    return this.#deps.answers;
  }

  get size(): number {
    return this.#connections.size;
  }

  /** Decides, before any upgrade happens, whether `client` may open one more socket. */
  admit(client: string): Admission {
    const { maxConnections, maxConnectionsPerClient } = this.#deps.config.limits;
    if (this.#shuttingDown || this.#connections.size >= maxConnections) {
      return {
        ok: false,
        reason: "server_full",
        message:
          `The server has its maximum of ${maxConnections} chat connections; try again soon.`,
      };
    }
    if ((this.#perClient.get(client) ?? 0) >= maxConnectionsPerClient) {
      return {
        ok: false,
        reason: "client_full",
        message: `Your address has ${maxConnectionsPerClient} chat connections open already; ` +
          "close some tabs.",
      };
    }
    return { ok: true, client };
  }

  /** Serves an upgraded socket admitted by {@link admit}. */
  attach(socket: WebSocket, admission: Extract<Admission, { ok: true }>): ChatConnection {
    const connection = new ChatConnection(socket, this.#deps);
    const { client } = admission;
    this.#connections.add(connection);
    this.#perClient.set(client, (this.#perClient.get(client) ?? 0) + 1);
    connection.closed.then(() => {
      this.#connections.delete(connection);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    });
    return connection;
  }

  /** Ends every answer (their end frames go out first) and closes every socket with 1001. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    // Answers first: their end frames (and last writes) go out before the sockets close.
    await this.#deps.answers.shutdown();
    const closing = [...this.#connections].map(async (connection) => {
      connection.shutdown();
      await connection.closed;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A peer that never completes the closing handshake must not hold the server up.
    const grace = new Promise((resolve) => timer = setTimeout(resolve, 2000));
    await Promise.race([Promise.all(closing), grace]);
    clearTimeout(timer);
  }
}
