import 'uplot/dist/uPlot.min.css';
import './style.css';
import { html } from 'htm/preact';
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { refusedReason, setToken, signOut, takeTokenFromAddress, useSignedIn } from './api';
import { Benchmarks } from './pages/benchmarks';
import { Coverage } from './pages/coverage';
import { Overview } from './pages/overview';
import { Alerts, Probe, Probes } from './pages/probes';
import { Run, Runs } from './pages/runs';
import { Security } from './pages/security';
import { Tests } from './pages/tests';
import { STATUS_PAGE_META_NAME } from './text';
import { href, type Route, useRoute } from './ui';

/** The dashboard: sign-in, navigation and the pages, routed by the address's fragment. */

/** The web handler marks the page when the deployment has a public status page (`statusPage`). */
const hasStatusPage = (): boolean =>
  document.querySelector(`meta[name="${STATUS_PAGE_META_NAME}"]`) !== null;

const SignIn = () => {
  const submit = (ev: Event) => {
    ev.preventDefault();
    const form = new FormData(ev.currentTarget as HTMLFormElement);
    const token = String(form.get('token') ?? '');
    if (token.trim()) setToken(token, form.get('remember') === 'on');
  };
  return html`<main id="main" class="signin">
    <h1>Sign in to Vigil</h1>
    <p>Paste an ingest or read-only token. It is kept in this tab only, unless you ask this browser to keep it, and sent as a bearer header.</p>
    ${refusedReason() ? html`<p class="error" role="alert">${refusedReason()}</p>` : null}
    <form onSubmit=${submit}>
      <label for="token">Token</label>
      <input id="token" name="token" type="password" autocomplete="off" required />
      <label class="check"><input name="remember" type="checkbox" /> Keep me signed in on this browser, in every tab, until I sign out (not on a shared computer)</label>
      <button type="submit">Sign in</button>
    </form>
    ${hasStatusPage() ? html`<p>The public status page needs no token: <a href="/status">status</a>.</p>` : null}
  </main>`;
};

const PROJECT_PAGES = [
  ['runs', 'Runs'],
  ['tests', 'Tests'],
  ['benchmarks', 'Benchmarks'],
  ['coverage', 'Coverage'],
  ['security', 'Security'],
] as const;

const Page = ({ route }: { route: Route }) => {
  const [page, a = '', b = ''] = route.parts;
  switch (page) {
    case undefined:
      return html`<${Overview} />`;
    case 'runs':
      // Keyed: another project or filter starts without the rows "Load more" added.
      return html`<${Runs} key=${`${a}?${route.query}`} project=${a} query=${route.query} />`;
    case 'run':
      return html`<${Run} project=${a} runId=${b} />`;
    case 'tests':
      // Keyed as the runs: another project, tab or search starts without the pages added.
      return html`<${Tests} key=${`${a}?${route.query}`} project=${a} query=${route.query} />`;
    case 'benchmarks':
      return html`<${Benchmarks} project=${a} query=${route.query} />`;
    case 'coverage':
      return html`<${Coverage} project=${a} query=${route.query} />`;
    case 'security':
      return html`<${Security} project=${a} />`;
    case 'probes':
      return html`<${Probes} />`;
    case 'probe':
      return html`<${Probe} project=${a} probe=${b} />`;
    case 'alerts':
      return html`<${Alerts} query=${route.query} />`;
    default:
      return html`<h1 tabindex="-1">Not found</h1><p>No page here. <a href="#/">Overview</a></p>`;
  }
};

const App = () => {
  const signedIn = useSignedIn();
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const key = route.parts.join('/');
  // After navigation (not on load), move focus to the new page's heading: screen readers
  // announce it and the next Tab continues inside the page. A page whose heading comes with
  // its data (a run) gets it when the heading arrives, unless focus went somewhere meanwhile.
  const loaded = useRef(false);
  useEffect(() => {
    const first = !loaded.current;
    loaded.current = true;
    const el = main.current;
    if (first || !el) return;
    const heading = () => el.querySelector<HTMLElement>('h1');
    const now = heading();
    if (now) {
      now.focus();
      return;
    }
    const from = document.activeElement;
    const arrived = new MutationObserver(() => {
      const h1 = heading();
      if (!h1) return;
      arrived.disconnect();
      const at = document.activeElement;
      if (at === null || at === document.body || at === el || at === from) h1.focus();
    });
    arrived.observe(el, { childList: true, subtree: true });
    return () => arrived.disconnect();
  }, [key]);
  if (!signedIn) return html`<${SignIn} />`;
  const skipToMain = (e: Event) => {
    e.preventDefault();
    main.current?.focus();
  };
  const [page, project] = route.parts;
  const current = (p: string) =>
    page === p || (p === '' && page === undefined) ? 'page' : undefined;
  return html`
    <a class="skip" href="#main" onClick=${skipToMain}>Skip to content</a>
    <header>
      <strong class="brand">Vigil</strong>
      <nav aria-label="Main">
        <a href="#/" aria-current=${current('')}>Overview</a>
        <a href=${href('probes')} aria-current=${current('probes')}>Probes</a>
        <a href=${href('alerts')} aria-current=${current('alerts')}>Alerts</a>
        ${hasStatusPage() ? html`<a href="/status">Status page</a>` : null}
      </nav>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    ${
      project && page !== 'probe'
        ? html`<nav class="sub" aria-label=${`Project ${project}`}>
          <span>${project}:</span>
          ${PROJECT_PAGES.map(([p, label]) => html`<a href=${href(p, project)} aria-current=${page === p ? 'page' : undefined}>${label}</a>`)}
        </nav>`
        : null
    }
    <main id="main" ref=${main} tabindex="-1"><${Page} route=${route} /></main>`;
};

takeTokenFromAddress();
// Registered before the router's listener, so the router never sees the token.
addEventListener('hashchange', takeTokenFromAddress);
const root = document.getElementById('app');
if (root) render(html`<${App} />`, root);
