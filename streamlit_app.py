from advisor.app.main import run

run()
