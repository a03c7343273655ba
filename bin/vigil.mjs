#!/usr/bin/env node
// `npx vigil ...`: run the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('./vigil.ts');
