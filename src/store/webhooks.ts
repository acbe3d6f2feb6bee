/**
 * The store's webhooks and their deliveries (SPEC §11). Deliveries are written by the store
 * itself, in the transaction that stores their event (the outbox); the delivery worker
 * (src/outbound/) claims, records and never creates them.
 */
import type { Delivery, DeliveryStatus, Webhook } from '../domain/webhook.js';

export interface WebhookStore {
  insert(webhook: Webhook): Promise<void>;
  get(id: string): Promise<Webhook | undefined>;
  /** Oldest first. */
  list(): Promise<Webhook[]>;
  /** Writes every field but the id and creation time; false when it does not exist. */
  update(webhook: Webhook): Promise<boolean>;
  /** Deletes the webhook and its deliveries (the pending ones are dropped). */
  delete(id: string): Promise<boolean>;
}

/** The deliveries of one webhook for one session, which go in order. */
export interface Lane {
  webhookId: string;
  sessionId: string;
}

export interface DeliveryKey {
  webhookId: string;
  sessionId: string;
  seq: number;
}

/** A delivery an instance holds until `leaseUntil`; only the holder of `leaseId` records it. */
export interface ClaimedDelivery extends Delivery {
  leaseId: string;
  leaseUntil: number;
  /** The webhook's target and secret variable as they were at the claim. */
  url: string;
  secretEnv: string | null;
}

export type AttemptOutcome =
  | { status: 'delivered'; httpStatus: number }
  | { status: 'pending'; httpStatus: number | null; error: string; nextAttemptAt: number }
  | { status: 'failed'; httpStatus: number | null; error: string };

/** One attempt to record, by the holder of the delivery's lease. */
export interface AttemptRecord {
  key: DeliveryKey;
  leaseId: string;
  outcome: AttemptOutcome;
  /** When the attempt ended (the delivery time when it was delivered). */
  at: number;
}

/** What recording one attempt did. */
export interface Settlement {
  /** False (and nothing written) when the lease was lost meanwhile. */
  recorded: boolean;
  /** The next delivery of the same webhook and session, claimed, when the attempt settled its delivery and the next one was due. */
  next: ClaimedDelivery | undefined;
}

export interface DeliveryStore {
  /**
   * Claims up to `limit` due deliveries of enabled webhooks, each the earliest pending event of
   * its webhook and session (order), none held by a live lease: they are leased until
   * `now + leaseMs`. Concurrent claims (other instances) never get the same delivery. With
   * `lane`, only that webhook's and session's next delivery is considered.
   */
  claim(now: number, limit: number, leaseMs: number, lane?: Lane): Promise<ClaimedDelivery[]>;
  /** Records an attempt; false (and nothing written) when the lease was lost meanwhile. */
  record(key: DeliveryKey, leaseId: string, outcome: AttemptOutcome, now: number): Promise<boolean>;
  /**
   * Records attempts as `record` does, and, when `claimNext`, for each one that settled its
   * delivery (delivered or finally failed) claims the next delivery of its webhook and session
   * as `claim` with that lane would, leased until `now + leaseMs`: all in one statement
   * (PostgreSQL) or one transaction (SQLite), so that a delivery costs one round trip and a
   * batch of them one commit. Answers in the order of `records`; none may share a lane.
   */
  settle(records: readonly AttemptRecord[], now: number, leaseMs: number, claimNext: boolean): Promise<Settlement[]>;
  /** A webhook's deliveries, newest first. */
  list(webhookId: string, query: { status?: DeliveryStatus; limit: number }): Promise<Delivery[]>;
  /** Deletes delivered and failed deliveries of events older than `cutoff`; returns how many. */
  purgeSettled(cutoff: number): Promise<number>;
  /** The earliest moment a pending delivery falls due (leases included), if any. */
  nextDue(): Promise<number | undefined>;
}
