// Injected by build-cjs.js into the CommonJS copy of each module that reads
// import.meta.url: the URL of the module's own file, as ESM would give it.
import { pathToFileURL } from 'node:url';

export const import_meta_url = pathToFileURL(__filename).href;
