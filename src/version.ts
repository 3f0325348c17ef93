// package.json holds the one version number: the package's, and the management API's
import manifest from '../package.json' with { type: 'json' };

export const VERSION: string = manifest.version;
