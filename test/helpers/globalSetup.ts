import { removeStaleTempDirs } from './staleTempDirs';

/** jest globalSetup: removes the temp folders of test runs that were killed (see staleTempDirs.ts). */
export default function globalSetup(): void {
  removeStaleTempDirs();
}
