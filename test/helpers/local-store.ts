import { LocalBus, type LocalBusOptions } from '../../functions/adapters/local/bus';
import { LocalStore } from '../../functions/adapters/local/store';
import type { BusEvent } from '../../functions/core/events';

/** The store of a data dir, opened once per dir for the test process (closed at exit). */
const open = new Map<string, LocalStore>();

export const storeOf = (dataDir: string): LocalStore => {
  let store = open.get(dataDir);
  if (!store) {
    store = LocalStore.open(dataDir);
    open.set(dataDir, store);
  }
  return store;
};

/** A bus on the data dir's store. */
export const busOn = (
  dataDir: string,
  opts: Omit<LocalBusOptions, 'db' | 'log'> = {},
): LocalBus => {
  const store = storeOf(dataDir);
  return new LocalBus({ db: store.db, log: store.log, ...opts });
};

/** Every event committed to a data dir's log, read through a connection of its own. */
export const storedEvents = (dataDir: string): BusEvent[] => {
  const reader = LocalStore.open(dataDir, { lock: false });
  try {
    return reader.log.all();
  } finally {
    reader.close();
  }
};
