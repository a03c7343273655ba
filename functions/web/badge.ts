import type { BadgeData } from '../core/status/api';
import { escapeHtml } from './security';

/** A flat SVG badge (label on grey, message on a colour), like the ones READMEs show. */

/** Dark enough for white 11px text (WCAG AA contrast). */
const TONES: Record<BadgeData['tone'], string> = {
  good: '#2e7d32',
  warn: '#b45309',
  bad: '#c62828',
  unknown: '#616161',
};

const MAX_TEXT = 40;
/** Verdana 11px averages about 7 px per character; good enough for a badge. */
const textWidth = (text: string): number => Math.round(text.length * 7 + 10);

const clip = (text: string): string =>
  text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;

export const renderBadge = (badge: BadgeData): string => {
  const label = clip(badge.label);
  const message = clip(badge.message);
  const lw = textWidth(label);
  const mw = textWidth(message);
  const w = lw + mw;
  const title = escapeHtml(`${label}: ${message}`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${title}">`,
    `<title>${title}</title>`,
    `<rect width="${lw}" height="20" fill="#555"/>`,
    `<rect x="${lw}" width="${mw}" height="20" fill="${TONES[badge.tone] ?? TONES.unknown}"/>`,
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">',
    `<text x="${lw / 2}" y="14">${escapeHtml(label)}</text>`,
    `<text x="${lw + mw / 2}" y="14">${escapeHtml(message)}</text>`,
    '</g></svg>',
  ].join('');
};
