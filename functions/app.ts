import { createDatasync } from '../lib/index.ts';

/** The service's one datasync instance, shared by every function. Register plugins here. */
export const datasync = createDatasync();
