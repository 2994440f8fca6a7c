import { render } from 'preact'
import { App } from './components/app.js'
import { Session } from './session.js'
import './styles.css'

render(<App session={new Session()} />, document.getElementById('app')!)
