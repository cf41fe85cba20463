/**
 * Who a request acts for. There are no accounts yet: everything belongs to one local owner,
 * and every store query already filters by owner so accounts can arrive without a migration.
 */
export const LOCAL_OWNER = "local";

/** The owner a request acts for (always the local one until accounts exist). */
export function ownerOf(_req: Request): string {
  return LOCAL_OWNER;
}
